"""Bench capacity and the queue of commissions: how long a new commission would take.

Checkout is the layer that sees both the catalogue (a product's bench time) and the orders, so
the queue is read here; the rule that turns it into "ready in X–Y weeks" is plain Python in
``app.domain.capacity``.

**Capacity** is the newest ``BenchCapacityChange`` (admins set it on ``/staff/capacity``); with
none recorded, ``BENCH_HOURS_PER_WEEK`` from the configuration (40).

**The queue** is every custom-commission line the atelier has committed to and not yet finished
at the bench: its order has paid at least the deposit and is not shipped, delivered, cancelled
or refunded (``deposit_paid``, ``paid``, ``in_production``), and the line has not reached QC (a
piece at QC, waiting for its balance, or packed needs no more bench time). Commissions placed
but not paid (``awaiting_payment``, ``payment_failed``) and drafts are not counted: nothing
obliges the atelier to them yet, and an abandoned one would hold the window open for ever; the
staff page lists them beside the queue. Each line counts its product's bench time
(``Product.bench_minutes``): order lines freeze the labour *price* and its text, not the minutes
as a figure, and the product's figure is the atelier's current estimate of the work. The queue
is in the order the commissions were paid (first paid, first made).

**Where it is used**: the product page's delivery window (``delivery_window()``), the promised
ship date of a commission (``promised_weeks()`` from ``services.cart.promised_ship_date``) and
booking's latest safe date for a consultation. When a window cannot be computed (a product with
no bench time recorded) they fall back to the product's fixed ``lead_time_weeks``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, or_, select

from app.catalog.models import BenchCapacityChange, EditionRun, Piece, Product, piece_is_free
from app.checkout.models import Order, OrderLine
from app.checkout.services.settings import setting
from app.common.caching import catalogue_changed
from app.domain.capacity import (
    CapacityError,
    QueuedFinish,
    ReadyWindow,
    queue_finishes,
    ready_window,
)
from app.domain.clock import utcnow
from app.domain.orders import OrderStatus
from app.extensions import db

DEFAULT_HOURS_PER_WEEK = 40
MAX_HOURS_PER_WEEK = 1000  # a bench of many artisans; more is a typing slip
# Commissions the atelier has committed to (at least the deposit paid), not yet shipped.
QUEUED_STATUSES: tuple[str, ...] = (
    OrderStatus.DEPOSIT_PAID.value,
    OrderStatus.PAID.value,
    OrderStatus.IN_PRODUCTION.value,
)
# Placed but unpaid: listed to staff, not counted.
AWAITING_STATUSES: tuple[str, ...] = (
    OrderStatus.AWAITING_PAYMENT.value,
    OrderStatus.PAYMENT_FAILED.value,
)
# Production stages at which a commission's bench work is done.
BENCH_DONE_STAGES: tuple[str, ...] = ("qc", "balance_paid", "packed", "shipped")

# --- capacity -------------------------------------------------------------------------------


def default_hours_per_week() -> int:
    """The configured capacity when no change has been recorded (``BENCH_HOURS_PER_WEEK``)."""
    return int(current_app.config.get("BENCH_HOURS_PER_WEEK") or DEFAULT_HOURS_PER_WEEK)


def _newest_change():
    return select(BenchCapacityChange.hours_per_week).order_by(
        BenchCapacityChange.changed_at.desc(), BenchCapacityChange.id.desc()
    )


def current_hours_per_week() -> int:
    """The bench's capacity now: the newest recorded change, else the configured default."""
    hours = db.session.execute(_newest_change().limit(1)).scalar_one_or_none()
    return hours if hours is not None else default_hours_per_week()


def capacity_history(*, limit: int = 50) -> list[BenchCapacityChange]:
    """Recorded changes, newest first."""
    return list(
        db.session.execute(
            select(BenchCapacityChange)
            .order_by(BenchCapacityChange.changed_at.desc(), BenchCapacityChange.id.desc())
            .limit(limit)
        ).scalars()
    )


def set_hours_per_week(*, hours_per_week: int, by_user_id: int | None) -> BenchCapacityChange:
    """Record a new capacity (in the caller's transaction); guests' pages refresh on commit.

    Raises CapacityError for a figure outside 1..MAX_HOURS_PER_WEEK.
    """
    if isinstance(hours_per_week, bool) or not isinstance(hours_per_week, int):
        raise CapacityError("Give the capacity as a whole number of hours a week.")
    if not 1 <= hours_per_week <= MAX_HOURS_PER_WEEK:
        raise CapacityError(f"Bench capacity is between 1 and {MAX_HOURS_PER_WEEK} hours a week.")
    change = BenchCapacityChange(
        hours_per_week=hours_per_week, changed_by_id=by_user_id, changed_at=utcnow()
    )
    db.session.add(change)
    db.session.flush()
    catalogue_changed()  # every commission's delivery window moves
    return change


# --- the queue ------------------------------------------------------------------------------


def _queued_lines(statuses: Iterable[str]):
    return (
        select(OrderLine, Order, Product.bench_minutes)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.status.in_(tuple(statuses)),
            OrderLine.tier == "custom",
            or_(OrderLine.stage.is_(None), OrderLine.stage.not_in(BENCH_DONE_STAGES)),
        )
        .order_by(
            func.coalesce(Order.paid_at, Order.placed_at, Order.created_at), Order.id, OrderLine.id
        )
    )


def _queue_minutes_sql():
    return (
        select(func.coalesce(func.sum(Product.bench_minutes), 0))
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.status.in_(QUEUED_STATUSES),
            OrderLine.tier == "custom",
            or_(OrderLine.stage.is_(None), OrderLine.stage.not_in(BENCH_DONE_STAGES)),
        )
    )


def queue_minutes() -> int:
    """The bench time of every commission in the queue, in minutes."""
    return int(db.session.execute(_queue_minutes_sql()).scalar_one())


def _capacity_and_queue() -> tuple[int, int]:
    """Capacity and queue minutes in one round trip (the product page asks for both)."""
    capacity, minutes = db.session.execute(
        select(
            _newest_change().limit(1).scalar_subquery(),
            _queue_minutes_sql().scalar_subquery(),
        )
    ).one()
    return (capacity if capacity is not None else default_hours_per_week()), int(minutes or 0)


@dataclass(frozen=True)
class QueueEntry:
    """One commission in the queue, with when the bench should finish it at full capacity."""

    order_number: str
    order_status: str
    line_id: int
    product_name: str
    stage: str | None
    bench_minutes: int
    paid_at: datetime | None
    finish: QueuedFinish

    @property
    def bench_hours(self) -> float:
        return self.bench_minutes / 60


@dataclass(frozen=True)
class Queue:
    entries: tuple[QueueEntry, ...]
    hours_per_week: int
    awaiting: tuple[tuple[str, str, int], ...]  # (order number, product name, bench minutes)

    @property
    def minutes(self) -> int:
        return sum(entry.bench_minutes for entry in self.entries)

    @property
    def hours(self) -> float:
        return self.minutes / 60


def commission_queue(*, today: date | None = None) -> Queue:
    """The queue in order, each with its estimated finish date, and the unpaid commissions."""
    today = today or utcnow().date()
    hours_per_week = current_hours_per_week()
    rows = db.session.execute(_queued_lines(QUEUED_STATUSES)).all()
    finishes = queue_finishes(
        [minutes for _, _, minutes in rows], hours_per_week=hours_per_week, today=today
    )
    entries = tuple(
        QueueEntry(
            order_number=order.number,
            order_status=order.status,
            line_id=line.id,
            product_name=line.product_name,
            stage=line.stage,
            bench_minutes=minutes,
            paid_at=order.paid_at,
            finish=finish,
        )
        for (line, order, minutes), finish in zip(rows, finishes, strict=True)
    )
    awaiting = tuple(
        (order.number, line.product_name, minutes)
        for line, order, minutes in db.session.execute(_queued_lines(AWAITING_STATUSES)).all()
    )
    return Queue(entries=entries, hours_per_week=hours_per_week, awaiting=awaiting)


# --- windows --------------------------------------------------------------------------------


def window_for_minutes(
    own_minutes: int,
    *,
    today: date | None = None,
    capacity_and_queue: tuple[int, int] | None = None,
) -> ReadyWindow | None:
    """When a new commission of ``own_minutes`` at the bench would be ready; None if the
    figures cannot give a window (the caller falls back to a fixed lead time)."""
    hours_per_week, queued = capacity_and_queue or _capacity_and_queue()
    try:
        return ready_window(
            queue_minutes=queued,
            hours_per_week=hours_per_week,
            today=today or utcnow().date(),
            own_minutes=own_minutes,
        )
    except CapacityError:
        return None


def product_window(product: Product, *, today: date | None = None) -> ReadyWindow | None:
    """The window of a new commission of this product; None for a studio piece or a product
    with no bench time recorded."""
    if not product.is_custom or not product.bench_minutes or product.bench_minutes <= 0:
        return None
    return window_for_minutes(product.bench_minutes, today=today)


def promised_weeks(products: Iterable[Product], *, today: date | None = None) -> int | None:
    """Weeks until commissions of these products (made one after another, behind the queue)
    are ready at the latest: the late end of their window. None if any has no bench time
    (the caller then uses the fixed lead times)."""
    custom = [product for product in products if product.is_custom]
    if not custom or any(not p.bench_minutes or p.bench_minutes <= 0 for p in custom):
        return None
    window = window_for_minutes(sum(p.bench_minutes for p in custom), today=today)
    return window.latest_weeks if window is not None else None


@dataclass(frozen=True)
class DeliveryWindow:
    """What the product page promises about delivery.

    ``kind``: ``studio`` (a free numbered piece ships within ``ship_days``), ``sold_out``,
    ``commission`` (``window`` says when it would be ready) or ``none`` (nothing to promise:
    a retired piece, or a commission whose window cannot be computed, whose page keeps its
    stated lead time).
    """

    kind: str
    ship_days: int | None = None
    window: ReadyWindow | None = None


def _free_pieces(product: Product) -> int:
    return db.session.execute(
        select(func.count(Piece.id))
        .join(EditionRun, EditionRun.id == Piece.run_id)
        .where(
            EditionRun.product_id == product.id,
            EditionRun.closed_at.is_(None),
            piece_is_free(utcnow()),
        )
    ).scalar_one()


def delivery_window(product: Product, editions: Iterable | None = None) -> DeliveryWindow:
    """The product page's delivery promise. ``editions`` (the page's edition summaries, each
    with ``run`` and ``available``) saves a query for a studio piece."""
    if getattr(product, "is_retired", False):
        return DeliveryWindow("none")
    if product.is_studio:
        if editions is not None:
            free = sum(
                ed.available for ed in editions if getattr(ed.run, "closed_at", None) is None
            )
        else:
            free = _free_pieces(product)
        if free <= 0:
            return DeliveryWindow("sold_out")
        return DeliveryWindow("studio", ship_days=int(setting("STUDIO_DISPATCH_DAYS")))
    window = product_window(product)
    return DeliveryWindow("commission", window=window) if window else DeliveryWindow("none")
