"""Turning a consultation into a custom order draft."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from app.booking.models import Consultation, ConsultationStatus, head_estimate_note
from app.booking.services.errors import BookingError
from app.booking.services.reading import get_consultation
from app.catalog import services as catalog_services
from app.catalog.models import Product
from app.checkout import services as checkout
from app.common import dates
from app.common.mail import send_mail_after_commit
from app.extensions import db


def _size_for(head_circumference_mm: int | None) -> str | None:
    """The fit size whose range holds the measurement, if any."""
    if head_circumference_mm is None:
        return None
    for size in catalog_services.all_sizes():
        if size.min_circumference_mm <= head_circumference_mm < size.max_circumference_mm:
            return size.code
    return None


def create_order_draft(
    *,
    consultation_id: int,
    now: datetime,
    product_id: int | None = None,
    metal_code: str | None = None,
    size_code: str | None = None,
) -> Consultation:
    """Turn a consultation into a custom order draft carrying its fit notes.

    One transaction, the caller's: the consultation is claimed first (a conditional UPDATE of
    order_drafted_at, so a double click or two staff at once make one draft), then checkout
    writes the order and the consultation is linked to it. Any failure, checkout's refusal
    (a BookingError) included, rolls back the claim and the part-made order with it.
    """
    consultation = get_consultation(consultation_id=consultation_id)
    if consultation.status in (ConsultationStatus.PENDING.value, ConsultationStatus.LAPSED.value):
        raise BookingError("The guest has not confirmed this booking yet; draft once they have.")
    product = db.session.get(Product, product_id or consultation.product_id or 0)
    if product is None or not product.is_custom:
        raise BookingError("Choose the custom piece this commission is for.", field="product")
    metal_code = metal_code or consultation.metal_code or product.default_metal.code
    size_code = (
        size_code or consultation.recommended_size or _size_for(consultation.head_circumference_mm)
    )
    if size_code is None:
        raise BookingError("Choose a size: the consultation has no measurement.", field="size")
    table = Consultation.__table__
    claimed = db.session.execute(
        update(table)
        .where(table.c.id == consultation_id, table.c.order_drafted_at.is_(None))
        .values(order_drafted_at=now)
    ).rowcount
    if claimed != 1:
        raise BookingError("This consultation already has an order draft.")
    try:
        order = checkout.create_custom_order_draft(
            user_id=consultation.user_id,
            email=consultation.email,
            name=consultation.name,
            product_id=product.id,
            metal_code=metal_code,
            size_code=size_code,
            notes=fit_notes_text(consultation),
            event_date=consultation.event_date,
        )
    except checkout.CheckoutError as exc:
        raise BookingError(str(exc)) from exc
    consultation = db.session.get_one(Consultation, consultation_id, populate_existing=True)
    consultation.order_id = order.id
    consultation.order_number = order.number
    if consultation.product_id is None:
        consultation.product_id = product.id
    # The customer's way in: a signed link for a guest, the order page for an account holder.
    send_mail_after_commit(
        to=consultation.email,
        subject=f"Your Diadem commission is ready to confirm (order {order.number})",
        template="consultation_order_draft",
        consultation=consultation,
        order=order,
        link=checkout.order_url(order),
    )
    return consultation


def draft_link(consultation: Consultation) -> str | None:
    """The link the customer was sent to their order draft (for staff to pass on)."""
    if not consultation.order_number:
        return None
    try:
        order = checkout.get_order_by_number(consultation.order_number)
    except checkout.OrderNotFound:
        return None
    return checkout.order_url(order)


def fit_notes_text(consultation: Consultation) -> str:
    """The fit notes as plain text, as they travel onto the order."""
    lines = [
        f"From consultation {consultation.reference} ({consultation.event_kind_label}, "
        f"{dates.day(consultation.event_date)})."
    ]
    if consultation.head_circumference_mm:
        estimate = head_estimate_note(consultation)
        lines.append(
            f"Head circumference: {consultation.head_circumference_mm / 10:g} cm"
            + (f" ({estimate})" if estimate else "")
        )
    if consultation.recommended_size:
        lines.append(f"Recommended size (try-on): {consultation.recommended_size}")
    for label, value in consultation.fit_note_items():
        lines.append(f"{label}: {value}")
    if consultation.rush:
        lines.append(f"RUSH: latest safe start was {dates.day(consultation.latest_safe_date)}")
    return "\n".join(lines)
