"""Packing a line: the ritual checked off item by item and a photo of the packed piece, kept with
the order (staff see both; the buyer sees the photo). A line reaches "packed" only this way."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from app.checkout.models import Order, OrderLine
from app.common.photos import without_metadata
from app.common.uploads import sniff, store_upload
from app.domain.packing import PackingIncomplete, check_packing
from app.domain.production import Via
from app.extensions import db
from app.staff.models import PackingRecord
from app.staff.services.common import ProductionError
from app.staff.services.moves import _apply, _ensure_passport, _lock_line


class PackingError(ProductionError):
    """The packing can't be recorded; the message says what is missing."""


def pack_line(
    *,
    order_line_id: int,
    items: Iterable[str],
    photo: bytes | None,
    expected_stage: str | None,
    by_user_id: int,
    note: str = "",
) -> PackingRecord:
    """Record the packing ritual and move the line to Packed; nothing is kept if any is missing.

    Raises PackingError (an item or the photo missing, a photo that is not one) or
    TransitionRefused (the line is not ready to pack: no passing QC, moved meanwhile...).
    """
    try:
        ticked = check_packing(items, has_photo=bool(photo))
    except PackingIncomplete as exc:
        raise PackingError(str(exc)) from exc
    sniff(photo)  # an image by its content (JPEG, PNG or WebP), before anything is stored
    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise PackingError("No such order line.")
    _ensure_passport(line)
    order, line = _lock_line(order_line_id)
    if packing_for(line.id) is not None:
        raise PackingError(f"{line.product_name} is already packed.")
    _apply(
        order,
        line,
        "packed",
        via=Via.MOVE,
        by_user_id=by_user_id,
        expected_stage=expected_stage,
        note=note,
    )
    stored = store_upload(without_metadata(photo), folder="packing")
    record = PackingRecord(
        order_line_id=line.id,
        items=list(ticked),
        photo_upload=stored.name,
        photo_content_type=stored.content_type,
        note=note.strip()[:500],
        packed_by_id=by_user_id,
    )
    db.session.add(record)
    db.session.flush()
    return record


def packing_for(order_line_id: int) -> PackingRecord | None:
    return db.session.execute(
        select(PackingRecord).where(PackingRecord.order_line_id == order_line_id)
    ).scalar_one_or_none()


def packing_photo_for(*, order: Order, line_id: int) -> PackingRecord:
    """The packing record of one of this order's lines (for serving its photo), or PackingError."""
    record = db.session.execute(
        select(PackingRecord)
        .join(OrderLine, OrderLine.id == PackingRecord.order_line_id)
        .where(OrderLine.order_id == order.id, OrderLine.id == line_id)
    ).scalar_one_or_none()
    if record is None:
        raise PackingError("No packing photo for that piece.")
    return record
