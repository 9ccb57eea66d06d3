"""The atelier's side of a return: approve (RA number) or refuse, arrival, inspection.

Locks: the return row first (``lock_row``), then the pieces (by id), then the order lines,
the same order as checkout (order, pieces, lines) with the return in front; a refund locks the
return, then checkout locks the order. Two staff clicks on the same step: the second waits for
the first, then sees the new status and is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError

from app.checkout import services as checkout
from app.common import references
from app.common.locks import lock_row
from app.common.transactions import atomic
from app.domain import returns as policy
from app.domain.clock import utcnow
from app.extensions import db
from app.returns.models import ReturnRequest
from app.returns.services import passports
from app.returns.services.errors import ReturnError, ReturnNotFound
from app.returns.services.notifications import notify

RA_PREFIX = "RA-"
REFUSAL_MAX = 500
NOTES_MAX = 1000


def _lock(return_id: int, *, expected: str, step: str) -> ReturnRequest:
    request = lock_row(ReturnRequest, return_id)
    if request is None:
        raise ReturnNotFound("No such return.")
    if request.status != expected:
        raise ReturnError(f"This return is {request.status_label.lower()}; it cannot be {step}.")
    return request


def _new_ra_number(request: ReturnRequest) -> None:
    for _ in range(5):
        request.ra_number = references.new_reference(RA_PREFIX)
        try:
            with atomic():  # a savepoint: a colliding number is drawn again
                db.session.flush()
            return
        except IntegrityError:
            continue
    raise ReturnError("Could not issue a return number; try again.")


def approve_return(*, return_id: int, by_user_id: int) -> ReturnRequest:
    """Authorise the return: an RA number and the instructions, emailed to the buyer."""
    request = _lock(return_id, expected="requested", step="approved")
    request.status = "approved"
    request.decided_by_id = by_user_id
    request.decided_at = utcnow()
    _new_ra_number(request)
    notify(request, "return_approved")
    return request


def refuse_return(*, return_id: int, reason: str, by_user_id: int) -> ReturnRequest:
    """Refuse with a reason (emailed); the pieces may be asked for again within the window."""
    reason = " ".join(reason.split())
    if not reason:
        raise ReturnError("Give the reason for refusing; the buyer reads it.")
    request = _lock(return_id, expected="requested", step="refused")
    request.status = "refused"
    request.refusal_reason = reason[:REFUSAL_MAX]
    request.decided_by_id = by_user_id
    request.decided_at = utcnow()
    for line in request.lines:
        line.active = False
    db.session.flush()
    notify(request, "return_refused")
    return request


def receive_return(*, return_id: int, by_user_id: int) -> ReturnRequest:
    """Record that the parcel arrived; each piece's passport records its return."""
    request = _lock(return_id, expected="approved", step="received")
    request.status = "received"
    request.received_by_id = by_user_id
    request.received_at = utcnow()
    for item in request.lines:
        passports.record_arrival(request, item.order_line, by_user_id=by_user_id)
    db.session.flush()
    return request


def inspect_return(
    *, return_id: int, items: Iterable[str], passed: bool, notes: str, by_user_id: int
) -> ReturnRequest:
    """Record the inspection; a studio piece goes back into its edition or is withheld.

    Either way the piece's passport records the inspection and what became of the piece, and
    the buyer's line lets go of it (so the number can be sold again when it is available).
    """
    try:
        ticked = policy.check_inspection(items, passed=passed)
    except policy.InspectionRefused as exc:
        raise ReturnError(str(exc)) from exc
    if not passed and not notes.strip():
        raise ReturnError("Say in the notes why the inspection failed.")
    request = _lock(return_id, expected="received", step="inspected")
    now = utcnow()
    request.status = "inspected"
    request.inspected_by_id = by_user_id
    request.inspected_at = now
    request.inspection_items = list(ticked)
    request.inspection_passed = passed
    request.inspection_notes = notes.strip()[:NOTES_MAX]
    # The pieces are checkout's: it locks them, puts them back or withholds them, and the
    # buyer's lines let go of their numbers.
    checkout.take_back_pieces(
        lines=[item.order_line for item in request.lines], restock=passed, now=now
    )
    for item in request.lines:
        line = item.order_line
        passports.record_inspection(request, line, passed=passed, items=ticked, by=by_user_id)
        if line.piece_id is not None:
            item.outcome = "restocked" if passed else "withheld"
        else:
            item.outcome = "kept" if passed else "retired"
        passports.record_outcome(request, line, item.outcome, by=by_user_id)
    db.session.flush()
    return request
