"""The buyer's side: asking to return pieces of a delivered order, within the window."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from app.checkout.models import Order
from app.common.photos import without_metadata
from app.common.transactions import atomic
from app.common.uploads import sniff, store_upload
from app.domain import returns as policy
from app.extensions import db
from app.returns.models import ReturnLine, ReturnPhoto, ReturnRequest
from app.returns.services.errors import ReturnError, WindowClosed
from app.returns.services.notifications import notify
from app.returns.services.reading import line_kind, return_options

MAX_PHOTOS = 5
DETAILS_MAX = 2000


def request_return(
    *,
    order: Order,
    line_ids: Sequence[int],
    reason: str,
    details: str,
    photos: Sequence[bytes],
    by_user_id: int | None,
) -> ReturnRequest:
    """Record a return request for these lines of ``order`` (already checked as the viewer's).

    Raises WindowClosed (not delivered, window over) or ReturnError (no pieces chosen, a
    commission without a fault, a piece already on a return, a photo that is not one).
    """
    options = return_options(order)
    if not options.window.open:
        raise WindowClosed(options.window.message)
    if reason not in policy.REASON_CODES:
        raise ReturnError("Choose the reason for the return.")
    returnable = {item.line.id: item.line for item in options.lines}
    chosen = sorted(set(line_ids))
    if not chosen:
        raise ReturnError("Choose at least one piece to return.")
    if any(line_id not in returnable for line_id in chosen):
        raise ReturnError("One of those pieces cannot be returned (it may already be on a return).")
    for line_id in chosen:
        line = returnable[line_id]
        decision = policy.may_return(
            line_kind=line_kind(line), reason_is_fault=policy.is_fault(reason)
        )
        if not decision.allowed:
            raise ReturnError(f"{line.product_name}: {decision.reason}")
    if len(photos) > MAX_PHOTOS:
        raise ReturnError(f"Send at most {MAX_PHOTOS} photos.")
    for data in photos:
        sniff(data)  # JPEG, PNG or WebP by content, before anything is stored
    request = ReturnRequest(
        order_id=order.id,
        reason=reason,
        details=details.strip()[:DETAILS_MAX],
        requested_by_id=by_user_id,
    )
    for line_id in chosen:
        request.lines.append(
            ReturnLine(order_line_id=line_id, amount_minor=returnable[line_id].total_minor)
        )
    try:
        with atomic():  # a savepoint: a request racing this one hits the unique index
            db.session.add(request)
            db.session.flush()
    except IntegrityError as exc:
        raise ReturnError("One of those pieces is already on a return.") from exc
    for data in photos:
        stored = store_upload(without_metadata(data), folder="returns")
        request.photos.append(ReturnPhoto(upload=stored.name, content_type=stored.content_type))
    db.session.flush()
    notify(
        request,
        "return_requested",
        reason_label=dict((c, label) for c, label, _ in policy.REASONS)[reason],
    )
    return request


def photo_of(*, request: ReturnRequest, photo_id: int) -> ReturnPhoto:
    for photo in request.photos:
        if photo.id == photo_id:
            return photo
    raise ReturnError("No such photo.")
