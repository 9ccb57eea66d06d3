"""Shipping an order once every line is packed with a passing QC check."""

from __future__ import annotations

from datetime import date

from app.accounts.models import User
from app.checkout import services as checkout
from app.checkout.models import Order, OrderLine
from app.common.links import public_url
from app.common.locks import lock_row, lock_rows
from app.domain import production
from app.domain.production import TransitionRefused, Via
from app.extensions import db
from app.provenance import services as provenance
from app.qc import services as qc
from app.staff.services.common import (
    OrderNotFound,
    ShippingError,
    track_of,
)
from app.staff.services.moves import _apply, _ensure_passport
from app.staff.services.quality import line_qc_passed
from app.staff.services.reading import _passport_of


def ship_order(
    *,
    order_id: int,
    carrier: str,
    tracking_number: str,
    insured_value_minor: int | None,
    by_user_id: int,
) -> Order:
    """Ship every line once each is packed with a passing QC, then hand over to checkout.

    The stage changes, the passports' dispatch entries and checkout's status change and email
    (``mark_shipped``) are one transaction, the caller's ``atomic()``: if checkout refuses
    (balance due...), ShippingError is raised and the caller's rollback undoes everything.
    """
    if not carrier.strip() or not tracking_number.strip():
        raise ShippingError("Give the carrier and the tracking number.")
    if insured_value_minor is not None and insured_value_minor < 0:
        raise ShippingError("The insured value cannot be negative.")
    order = db.session.get(Order, order_id)
    if order is None:
        raise OrderNotFound("No such order.")
    for line in order.lines:
        if line.stage is not None:
            _ensure_passport(line)
    order, lines = _lock_order(order_id)
    if not lines:
        raise ShippingError("This order has nothing to ship.")
    # Check every line before changing any, so the message lists all that block shipping.
    problems = _shipping_problems(lines)
    if problems:
        raise ShippingError("Cannot ship yet. " + " ".join(problems))
    shipper = qc.display_name(db.session.get(User, by_user_id))
    for line in lines:
        _apply(order, line, "shipped", via=Via.SHIPMENT, by_user_id=by_user_id)
        passport = _passport_of(line)
        if passport is not None:
            provenance.record_entry(
                passport_id=passport.id,
                kind="dispatch",
                summary="Left the atelier, insured and signed for.",
                actor=shipper,
                recorded_by_id=by_user_id,
            )
    if insured_value_minor is not None:
        order.insured_value_minor = insured_value_minor
    db.session.flush()
    try:
        # Checkout locks the same order row again (already ours), sets the status and emails
        # the buyer the tracking number once the caller commits.
        return checkout.mark_shipped(
            order_id=order_id,
            carrier=carrier,
            tracking_number=tracking_number,
            by_user_id=by_user_id,
            passports=_passport_links(lines),
        )
    except checkout.CheckoutError as exc:
        raise ShippingError(str(exc)) from exc


def record_delivery(*, order_id: int, delivered_on: date, signed_by: str, by_user_id: int) -> Order:
    """Record the signed-for delivery (workshop work); checkout moves the order and emails.

    Each piece's passport records the delivery too (the day, never who signed: a passport
    carries no customer data), so its story reads on to whatever comes after.
    """
    try:
        order = checkout.mark_delivered(
            order_id=order_id, delivered_on=delivered_on, signed_by=signed_by, by_user_id=by_user_id
        )
    except checkout.CheckoutError as exc:
        raise ShippingError(str(exc)) from exc
    for line in order.lines:
        passport = _passport_of(line)
        if passport is not None:
            provenance.record_entry(
                passport_id=passport.id,
                kind="dispatch",
                summary="Delivered to its owner, signed for.",
                recorded_by_id=by_user_id,
                occurred_on=delivered_on,
            )
    return order


def _passport_links(lines: list[OrderLine]) -> list[tuple[str, str]]:
    """(piece, public passport URL) for the shipped email, for lines that have a passport."""
    links = []
    for line in lines:
        passport = _passport_of(line)
        if passport is not None:
            piece = f"{line.product_name} {line.piece_label}".strip()
            links.append((piece, public_url("provenance.passport", code=passport.code)))
    return links


def _lock_order(order_id: int) -> tuple[Order, list[OrderLine]]:
    """Lock the order row, then its lines in id order (checkout's lock order)."""
    order = lock_row(Order, order_id)
    if order is None:
        raise OrderNotFound("No such order.")
    line_ids = db.session.execute(
        db.select(OrderLine.id).where(OrderLine.order_id == order_id)
    ).scalars()
    return order, list(lock_rows(OrderLine, line_ids).values())


def _shipping_problems(lines: list[OrderLine]) -> list[str]:
    problems = []
    for line in lines:
        try:
            production.check_transition(
                track_of(line),
                line.stage,
                "shipped",
                via=Via.SHIPMENT,
                qc_passed=line_qc_passed(line.id),
            )
        except TransitionRefused as exc:
            problems.append(f"{line.product_name} {line.piece_label}".strip() + f": {exc}")
    return problems


def default_insured_value(order: Order) -> int:
    """What to insure the parcel for when staff leave it as it is: the goods' value."""
    return order.insured_value_minor or order.goods_minor
