"""What the owner's and the staff's repair views share: run one operation, say how it went."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash

from app.common.transactions import atomic
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
