"""Errors the booking services raise; each message is for the person at the screen."""

from __future__ import annotations

SLOT_TAKEN_MESSAGE = "That slot was just taken — please pick another."


class BookingError(Exception):
    """A consultation operation that cannot be done; the message is for the user."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class SlotTaken(BookingError):
    field = "slot"

    def __init__(self, message: str = SLOT_TAKEN_MESSAGE) -> None:
        super().__init__(message)


class SlotUnavailable(BookingError):
    field = "slot"

    def __init__(
        self, message: str = "That time is not open for booking; pick one of the times offered."
    ) -> None:
        super().__init__(message)


class InvalidBooking(BookingError):
    """A rule across fields (event date against the slot, rush not accepted...)."""


class ConsultationNotFound(BookingError):
    pass


class InvalidManageLink(BookingError):
    pass


class ChangesClosed(BookingError):
    pass


class SnapshotNotFound(BookingError):
    field = "snapshot"


class TooManyUpcoming(BookingError):
    """The buyer (by email, session or account) already holds the most upcoming bookings."""

    field = "email"


class HoldLapsed(BookingError):
    """A guest's unconfirmed hold ran out and its time could not be taken again."""
