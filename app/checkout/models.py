"""Carts, orders, their lines, payments, refunds, price revisions and recorded Stripe events.

Order status (``orders.status``), one of ORDER_STATUSES:

- ``draft``             a custom order prepared from a consultation; the buyer completes checkout
- ``awaiting_payment``  placed; studio pieces are reserved until ``reserved_until``
- ``payment_failed``    the card was declined; reserved pieces were released (buyer may retry)
- ``paid``              everything due so far is paid (studio pieces sold, custom balance settled)
- ``deposit_paid``      a custom order's deposit is paid; the balance is due before shipping
- ``in_production``     set by the staff workspace while the atelier works on it
- ``shipped`` / ``delivered``
- ``cancelled``         by staff, or because the reservation expired unpaid (``cancel_reason``)
- ``refunded``          everything paid was refunded (partial refunds leave the status alone)

Numbered pieces: an order line keeps the piece it reserved or sold in ``piece_id`` for ever
(history), and ``piece_released_at`` is set when the reservation ends without a sale (expiry,
failed payment, cancellation). A partial UNIQUE index on ``piece_id WHERE piece_released_at IS
NULL`` means a piece is held by at most one live line, so after a release the same piece can be
sold again on another order. The status of the piece itself (catalog ``Piece.status``:
available/reserved/sold) is changed only while its row is locked (SELECT ... FOR UPDATE).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain import tracking
from app.domain.careplans import CarePlanTerms
from app.domain.clock import utcnow
from app.domain.orders import LABELS, OrderStatus
from app.domain.pricing import Breakdown
from app.extensions import db, one_of

ORDER_STATUSES: tuple[str, ...] = tuple(status.value for status in OrderStatus)
PAYMENT_METHODS: tuple[str, ...] = ("manual", "stripe")
PAYMENT_KINDS: tuple[str, ...] = ("initial", "balance")


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


PAYMENT_STATUSES: tuple[str, ...] = tuple(status.value for status in PaymentStatus)
REFUND_STATUSES: tuple[str, ...] = tuple(status.value for status in RefundStatus)
MAX_LINE_QUANTITY = 5
EXPIRED_REASON = "The reservation expired before payment arrived."


class Cart(db.Model):
    """A signed-in buyer's cart (a guest's cart lives in the session until they sign in)."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.id"
    )


class CartLine(db.Model):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id", "metal_id", "size_code"),
        CheckConstraint(f"quantity BETWEEN 1 AND {MAX_LINE_QUANTITY}", name="quantity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    metal_id: Mapped[int] = mapped_column(ForeignKey("metals.id"))
    size_code: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int] = mapped_column(default=1)

    cart: Mapped[Cart] = relationship(back_populates="lines")


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(one_of("status", ORDER_STATUSES), name="status_known"),
        CheckConstraint(one_of("payment_method", PAYMENT_METHODS), name="payment_method_known"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint("deposit_minor >= 0", name="deposit_not_negative"),
        CheckConstraint(
            "balance_minor >= 0 AND balance_minor <= total_minor", name="balance_in_range"
        ),
        CheckConstraint("paid_minor >= 0", name="paid_not_negative"),
        CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= paid_minor", name="refunds_within_paid"
        ),
        Index("ix_orders_status_reserved_until", "status", "reserved_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    # Who holds pieces, for the per-buyer hold limit (checkout.services.holds): the address
    # as counted (lower case, no +tag) and the browser session's visitor key.
    email_key: Mapped[str] = mapped_column(String(254), default="", index=True)
    session_key: Mapped[str | None] = mapped_column(String(64), index=True)
    # A guest's bank-transfer order holds its pieces briefly until the address is confirmed
    # through the emailed link; account holders' orders are confirmed when placed.
    email_confirmed_at: Mapped[datetime | None]
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40), default="")
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    event_date: Mapped[date | None]
    promised_ship_date: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    policy_accepted_at: Mapped[datetime | None]

    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.AWAITING_PAYMENT.value)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    payment_method: Mapped[str] = mapped_column(String(10), default="manual")
    # Bank-transfer reference, or the id of the current Stripe PaymentIntent.
    payment_reference: Mapped[str] = mapped_column(String(255), default="")
    reserved_until: Mapped[datetime | None]

    currency: Mapped[str] = mapped_column(String(3), default="USD")
    goods_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Custom tier: the deposit part of the first payment and what is still due after it.
    deposit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_requested_at: Mapped[datetime | None]
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    signature_required: Mapped[bool] = mapped_column(default=True)
    insured_value_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    carrier: Mapped[str] = mapped_column(String(60), default="")
    tracking_number: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    placed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    # The name the carrier recorded on delivery (every parcel is sent signed-for).
    delivered_signed_by: Mapped[str] = mapped_column(String(120), default="", server_default="")
    cancelled_at: Mapped[datetime | None]

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Payment.id"
    )
    refunds: Mapped[list[Refund]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Refund.id"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id"
    )

    @property
    def tracking_url(self) -> str | None:
        """The carrier's tracking page for this parcel, or None (unknown carrier, no number)."""
        return tracking.tracking_url(carrier=self.carrier, tracking_number=self.tracking_number)

    @property
    def due_at_checkout_minor(self) -> int:
        """What the first payment covers: studio lines in full plus custom deposits."""
        return self.total_minor - self.balance_minor

    @property
    def outstanding_minor(self) -> int:
        """What the buyer still owes now (refunds are money returned, not a new debt)."""
        return max(self.total_minor - self.paid_minor, 0)

    @property
    def is_custom(self) -> bool:
        return any(line.is_custom for line in self.lines)

    @property
    def can_retry_payment(self) -> bool:
        """A failed or lapsed first payment can be tried again (pieces are reserved anew)."""
        lapsed = self.status == OrderStatus.CANCELLED and self.cancel_reason == EXPIRED_REASON
        return self.paid_minor == 0 and (self.status == OrderStatus.PAYMENT_FAILED or lapsed)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status.replace("_", " ").capitalize())


STATUS_LABELS: dict[str, str] = {status.value: label for status, label in LABELS.items()}


class OrderLine(db.Model):
    """One piece on an order: a numbered studio piece or one custom commission."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("tier IN ('studio', 'custom')", name="tier_known"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint("deposit_minor >= 0", name="deposit_not_negative"),
        CheckConstraint("tier = 'custom' OR deposit_minor = 0", name="deposit_only_custom"),
        CheckConstraint("piece_released_at IS NULL OR piece_id IS NOT NULL", name="release_piece"),
        CheckConstraint("care_plan_minor >= 0", name="care_plan_not_negative"),
        CheckConstraint(
            "(care_plan_rule IS NULL AND care_plan_minor = 0 AND care_plan_ends_on IS NULL)"
            " OR (care_plan_rule IN ('share', 'fixed') AND care_plan_rule_amount > 0)",
            name="care_plan_frozen_whole",
        ),
        # At most one live (reserved or sold) line per numbered piece; released lines keep
        # their piece_id as history without blocking a later sale of the same piece.
        Index(
            "uq_order_lines_live_piece",
            "piece_id",
            unique=True,
            sqlite_where=text("piece_released_at IS NULL"),
            postgresql_where=text("piece_released_at IS NULL"),
        ),
        # Every line a piece was ever on (provenance: who reserved or bought it, and when).
        Index("ix_order_lines_piece_id", "piece_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    piece_id: Mapped[int | None] = mapped_column(ForeignKey("pieces.id"))
    piece_released_at: Mapped[datetime | None]
    metal_id: Mapped[int] = mapped_column(ForeignKey("metals.id"))
    size_code: Mapped[str] = mapped_column(String(8))
    tier: Mapped[str] = mapped_column(String(8))
    # Frozen at purchase: names as sold, and the breakdown (with line codes) the buyer agreed to.
    product_name: Mapped[str] = mapped_column(String(120))
    metal_name: Mapped[str] = mapped_column(String(60))
    piece_label: Mapped[str] = mapped_column(String(16), default="")
    breakdown: Mapped[dict] = mapped_column(JSON)
    breakdown_version: Mapped[int] = mapped_column(default=1)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    deposit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Production stage, owned by the staff workspace; checkout sets the first one on payment.
    stage: Mapped[str | None] = mapped_column(String(40))
    # The care plan bought with the piece, frozen at purchase like the breakdown (whose
    # ``care_plan`` line is its price): later changes to the plan do not alter it. The end
    # date is set on delivery; a plan with no term (years NULL) is for life and never ends.
    care_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("care_plans.id", ondelete="SET NULL")
    )
    care_plan_name: Mapped[str] = mapped_column(String(80), default="", server_default="")
    care_plan_years: Mapped[int | None]
    care_plan_rule: Mapped[str | None] = mapped_column(String(8))
    care_plan_rule_amount: Mapped[int | None] = mapped_column(BigInteger)
    care_plan_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    care_plan_ends_on: Mapped[date | None]

    order: Mapped[Order] = relationship(back_populates="lines")
    product = relationship("Product")
    metal = relationship("Metal")
    piece = relationship("Piece")
    revisions: Mapped[list[PriceRevision]] = relationship(
        back_populates="line", cascade="all, delete-orphan", order_by="PriceRevision.version"
    )

    @property
    def is_custom(self) -> bool:
        return self.tier == "custom"

    @property
    def care_plan_terms(self) -> CarePlanTerms | None:
        """The plan as it was sold with this piece, or None."""
        if self.care_plan_rule is None:
            return None
        return CarePlanTerms(
            name=self.care_plan_name,
            years=self.care_plan_years,
            rule=self.care_plan_rule,
            amount=self.care_plan_rule_amount or 0,
        )

    @property
    def is_holding_piece(self) -> bool:
        return self.piece_id is not None and self.piece_released_at is None

    def frozen_breakdown(self) -> Breakdown:
        return Breakdown.from_dict(self.breakdown)

    @property
    def pending_revision(self) -> PriceRevision | None:
        for revision in reversed(self.revisions):
            if revision.accepted_at is None and revision.withdrawn_at is None:
                return revision
        return None


class CarePlan(db.Model):
    """A care plan admins offer at checkout: its term and price rule, as they are now.

    Admins change a plan's rule or retire it (``care_plan_changes`` keeps the dated history);
    order lines froze what they bought, so nothing sold changes with it.
    """

    __tablename__ = "care_plans"
    __table_args__ = (
        CheckConstraint("years IS NULL OR years BETWEEN 1 AND 50", name="years_range"),
        CheckConstraint("rule IN ('share', 'fixed')", name="rule_known"),
        CheckConstraint(
            "(rule = 'share' AND amount BETWEEN 1 AND 5000) OR (rule = 'fixed' AND amount > 0)",
            name="amount_in_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    years: Mapped[int | None]  # None: for the piece's lifetime
    rule: Mapped[str] = mapped_column(String(8))
    # Basis points of the piece's price ('share') or minor units of the currency ('fixed').
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    changes: Mapped[list[CarePlanChange]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="CarePlanChange.id"
    )

    @property
    def terms(self) -> CarePlanTerms:
        return CarePlanTerms(name=self.name, years=self.years, rule=self.rule, amount=self.amount)


class CarePlanChange(db.Model):
    """One dated step in a plan's life: offered, its rule changed, retired (who, when, why)."""

    __tablename__ = "care_plan_changes"
    __table_args__ = (
        CheckConstraint("action IN ('offered', 'changed', 'retired')", name="action_known"),
        CheckConstraint("rule IN ('share', 'fixed')", name="rule_known"),
        Index("ix_care_plan_changes_changed_at", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(8))  # the rule from this change on
    amount: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(200), default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    plan: Mapped[CarePlan] = relationship(back_populates="changes")
    changed_by = relationship("User")

    @property
    def rule_text(self) -> str:
        """The price rule this change set, in the words the page prints."""
        plan = self.plan
        terms = CarePlanTerms(name=plan.name, years=plan.years, rule=self.rule, amount=self.amount)
        return terms.rule_text(plan.currency)


class PriceRevision(db.Model):
    """A custom line's price as revised by staff after the consultation, versioned."""

    __tablename__ = "price_revisions"
    __table_args__ = (
        UniqueConstraint("order_line_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    version: Mapped[int]
    breakdown: Mapped[dict] = mapped_column(JSON)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]

    line: Mapped[OrderLine] = relationship(back_populates="revisions")

    def frozen_breakdown(self) -> Breakdown:
        return Breakdown.from_dict(self.breakdown)


class Payment(db.Model):
    """One attempt to collect money for an order: the first payment or the custom balance."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(one_of("kind", PAYMENT_KINDS), name="kind_known"),
        CheckConstraint(one_of("method", PAYMENT_METHODS), name="method_known"),
        CheckConstraint(one_of("status", PAYMENT_STATUSES), name="status_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor", name="refunds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=PaymentStatus.PENDING.value)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # Bank-transfer reference the buyer quotes (manual) / what staff noted when marking paid.
    reference: Mapped[str] = mapped_column(String(255), default="")
    # What staff noted when recording a manual payment (their bank's transaction id...):
    # internal, shown to staff only.
    note: Mapped[str] = mapped_column(String(255), default="")
    # What staff chose to tell the buyer about this payment (order page and invoice).
    customer_note: Mapped[str] = mapped_column(String(255), default="")
    # The Stripe PaymentIntent id (stripe method only).
    provider_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    failure_message: Mapped[str] = mapped_column(String(500), default="")
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship(back_populates="payments")

    @property
    def refundable_minor(self) -> int:
        return (
            self.amount_minor - self.refunded_minor if self.status == PaymentStatus.SUCCEEDED else 0
        )


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(one_of("status", REFUND_STATUSES), name="status_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default=RefundStatus.SUCCEEDED.value)
    provider_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="refunds")
    payment: Mapped[Payment] = relationship()


class OrderEvent(db.Model):
    """The order's history: placed, paid, refunded, revised, shipped... (who and when)."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(500), default="")
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")


class StripeEvent(db.Model):
    """Every Stripe webhook event id we processed; the UNIQUE id makes processing at most once."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(255), default="")
    outcome: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
