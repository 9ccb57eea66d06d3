"""Repair errors and limits every repairs module shares."""

from __future__ import annotations

from datetime import timedelta

WARRANTY = timedelta(days=2 * 365)  # free workmanship repairs for two years from delivery
MAX_PHOTOS = 6
TICKET_LINK_SALT = "diadem.repair"


class RepairError(Exception):
    """The repair operation cannot be done; the message is for the person who asked."""


class TicketNotFound(RepairError):
    pass


class NotYourPiece(RepairError):
    pass


class OrderNotVisible(RepairError):
    """A guest without the order's signed link (or its session): same as a missing order."""
