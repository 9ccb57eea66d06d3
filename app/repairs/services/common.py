"""Repair errors and limits every repairs module shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from app.repairs.models import RepairTicket

MAX_PHOTOS = 6  # photos an owner (or staff at a walk-in) attach when a ticket opens; see below
TICKET_LINK_SALT = "diadem.repair"


def max_photos() -> int:
    """Photos a request may attach (REPAIRS_MAX_PHOTOS); the atelier may add as many again."""
    return int(current_app.config.get("REPAIRS_MAX_PHOTOS", MAX_PHOTOS))


class RepairError(Exception):
    """The repair operation cannot be done; the message is for the person who asked."""


class TicketNotFound(RepairError):
    pass


class NotYourPiece(RepairError):
    pass


class OrderNotVisible(RepairError):
    """A guest without the order's signed link (or its session): same as a missing order."""


class PieceHasOpenTicket(RepairError):
    """The piece already has an open ticket (one at a time, see the model's unique index).

    ``ticket`` is that ticket; ``visible`` says whether the person asking may follow it (their
    own request), so a view links to it only then.
    """

    def __init__(self, message: str, *, ticket: RepairTicket, visible: bool) -> None:
        super().__init__(message)
        self.ticket = ticket
        self.visible = visible
