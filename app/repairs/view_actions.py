"""What the owner's and the staff's repair views share: run one operation, say how it went."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash

from app.common.transactions import atomic
from app.common.uploads import send_upload
from app.repairs import services


def attempt(
    operation: Callable[[], object],
    *,
    done: str,
    escalate: tuple[type[Exception], ...] = (),
) -> bool:
    """Run one repair operation in its own transaction; flash ``done``, or why it was refused.

    A refusal (``services.ERRORS``) is flashed as a warning and False returned; the errors in
    ``escalate`` are raised for the view to answer otherwise (a 404, a 409 page).
    """
    try:
        with atomic():
            operation()
    except escalate:
        raise
    except services.ERRORS as exc:
        flash(str(exc), "warning")
        return False
    flash(done, "success")
    return True


def send_photo(ticket, photo_id: int):
    """One of the ticket's photos (404 if it is not the ticket's)."""
    try:
        photo = services.photo_for(ticket=ticket, photo_id=photo_id)
    except services.TicketNotFound:
        abort(404)
    return send_upload(photo.upload_name)
