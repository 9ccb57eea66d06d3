"""Repair errors and limits every repairs module shares."""

from __future__ import annotations

from flask import current_app

from app.common.locks import lock_row
from app.domain.money import Money, format_money
from app.repairs.models import RepairTicket

MAX_PHOTOS = 6  # photos an owner (or staff at a walk-in) attach when a ticket opens; see below
TICKET_LINK_SALT = "diadem.repair"


def lock_ticket(ticket_id: int) -> RepairTicket:
    """The ticket, its row locked for the rest of the transaction; TicketNotFound if none."""
    ticket = lock_row(RepairTicket, ticket_id)
    if ticket is None:
        raise TicketNotFound("No such repair ticket.")
    return ticket


def money_text(minor: int, currency: str) -> str:
    """An amount as the repairs pages and emails write it."""
    return format_money(Money(minor, currency))


def max_photos() -> int:
    """Photos a request may attach (REPAIRS_MAX_PHOTOS); the atelier may add as many again."""
    return int(current_app.config.get("REPAIRS_MAX_PHOTOS", MAX_PHOTOS))


class RepairError(Exception):
    """The repair operation cannot be done; the message is for the person who asked."""


class TicketNotFound(RepairError):
    pass


class NeedsTracking(RepairError):
    """A piece that came by post is returned only by shipping it, with carrier and tracking."""


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
