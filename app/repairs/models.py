"""Repair tickets: requested by the owner online or opened by staff for a walk-in."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain import tracking
from app.domain.clock import utcnow
from app.domain.production import TRACK_STAGES, Track
from app.extensions import db, one_of

REPAIR_STATUSES = TRACK_STAGES[Track.REPAIR]
# A ticket is open until the piece is back with its owner: a declined quote still ends in
# "returned" (unrepaired), so it stays open until then.
OPEN_STATUSES = tuple(s for s in REPAIR_STATUSES if s != "returned")
OPEN_PREDICATE = text("status <> 'returned'")
# customer: an account holder online; guest: a guest buyer online, through the order's signed
# link (no account: contact_* come from the order); walk_in: opened by staff at the atelier.
GUEST_SOURCE = "guest"
SOURCES = ("customer", GUEST_SOURCE, "walk_in")
# As for orders: "stripe" (a PaymentIntent, settled by the signed webhook) or "manual" (a bank
# transfer staff saw arrive and recorded).
PAYMENT_METHODS = ("manual", "stripe")
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "cancelled")
# A card refund is recorded "pending" and committed before Stripe is asked, then settled
# "succeeded" or "failed"; a refund by bank transfer is recorded "succeeded" at once.
REFUND_STATUSES = ("pending", "succeeded", "failed")


class RepairTicket(db.Model):
    __tablename__ = "repair_tickets"
    __table_args__ = (
        CheckConstraint(one_of("status", REPAIR_STATUSES), name="status_known"),
        CheckConstraint(one_of("source", SOURCES), name="source_known"),
        CheckConstraint("quote_minor IS NULL OR quote_minor >= 0", name="quote_not_negative"),
        CheckConstraint("paid_minor >= 0", name="paid_not_negative"),
        CheckConstraint(
            "source = 'walk_in' OR (passport_id IS NOT NULL"
            " AND (customer_id IS NOT NULL OR source = 'guest'))",
            name="online_requests_name_owner_and_piece",
        ),
        CheckConstraint(
            "status IN ('received', 'assessed') OR quote_minor IS NOT NULL",
            name="quoted_before_decision",
        ),
        Index("ix_repair_tickets_status", "status"),
        # One open ticket per piece (its passport), even when two requests race: the second
        # insert fails and becomes PieceHasOpenTicket. Walk-ins without a passport are not
        # covered (NULLs never collide).
        Index(
            "uq_repair_tickets_open_passport",
            "passport_id",
            unique=True,
            sqlite_where=OPEN_PREDICATE,
            postgresql_where=OPEN_PREDICATE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Shown to people and on labels instead of the id ("R-2F7K9Q").
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    source: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16), default="received")
    passport_id: Mapped[int | None] = mapped_column(ForeignKey("passports.id"))
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_lines.id", ondelete="SET NULL")
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Walk-ins without an account: how to reach them. Never copied into the passport.
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    piece_description: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)  # the owner's words
    preferred_return_on: Mapped[date | None]
    assessment: Mapped[str] = mapped_column(Text, default="")
    under_warranty: Mapped[bool] = mapped_column(default=False)
    quote_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    quote_note: Mapped[str] = mapped_column(Text, default="")
    quote_sent_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decision_comment: Mapped[str] = mapped_column(Text, default="")
    work_done: Mapped[str] = mapped_column(Text, default="")  # public: goes into the passport
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    returned_at: Mapped[datetime | None]
    # What the owner has paid towards the quote (card and recorded transfers), changed only
    # under the ticket's row lock; a payment the quote no longer needed is refunded, not counted.
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Sending the piece back: the carrier and tracking number staff recorded.
    carrier: Mapped[str] = mapped_column(String(80), default="", server_default="")
    tracking_number: Mapped[str] = mapped_column(String(80), default="", server_default="")
    shipped_back_at: Mapped[datetime | None]

    customer = relationship("User", foreign_keys=[customer_id])
    passport = relationship("Passport")
    photos: Mapped[list[RepairPhoto]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="RepairPhoto.id"
    )
    events: Mapped[list[RepairEvent]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="RepairEvent.id"
    )

    payments: Mapped[list[RepairPayment]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="RepairPayment.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status != "returned"

    @property
    def arrived_by_post(self) -> bool:
        """Whether the owner posted the piece in, so it goes back by carrier with tracking.

        An online request (an account holder's or a guest's) is approved with the address to
        post the piece to; a walk-in's piece is handed over at the counter and collected there.
        """
        return self.source != "walk_in"

    @property
    def due_minor(self) -> int:
        """What is left to pay on the quote (0 before a quote and once paid)."""
        return max((self.quote_minor or 0) - self.paid_minor, 0)

    @property
    def tracking_url(self) -> str | None:
        return tracking.tracking_url(carrier=self.carrier, tracking_number=self.tracking_number)


class RepairPhoto(db.Model):
    __tablename__ = "repair_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("repair_tickets.id", ondelete="CASCADE"))
    upload_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(60))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[RepairTicket] = relationship(back_populates="photos")


class RepairEvent(db.Model):
    """The ticket's history: each status change with who and when."""

    __tablename__ = "repair_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("repair_tickets.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[RepairTicket] = relationship(back_populates="events")
    by_user = relationship("User")


class RepairPayment(db.Model):
    """Money towards a repair quote: a card PaymentIntent or a bank transfer staff recorded."""

    __tablename__ = "repair_payments"
    __table_args__ = (
        CheckConstraint(one_of("method", PAYMENT_METHODS), name="method_known"),
        CheckConstraint(one_of("status", PAYMENT_STATUSES), name="status_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor", name="refunds"),
        CheckConstraint("method = 'stripe' OR received_on IS NOT NULL", name="transfer_dated"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("repair_tickets.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # The Stripe PaymentIntent id (cards); a transfer's bank reference and day (manual).
    provider_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    reference: Mapped[str] = mapped_column(String(255), default="")
    received_on: Mapped[date | None]
    failure_message: Mapped[str] = mapped_column(String(500), default="")
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]

    ticket: Mapped[RepairTicket] = relationship(back_populates="payments")
    refunds: Mapped[list[RepairRefund]] = relationship(
        back_populates="payment", order_by="RepairRefund.id", cascade="all, delete-orphan"
    )

    @property
    def refundable_minor(self) -> int:
        """What is left to give back: a settled payment less what was refunded."""
        return self.amount_minor - self.refunded_minor if self.status == "succeeded" else 0


class RepairRefund(db.Model):
    """Money given back on a repair payment: who, how much, why (the owner is told the why)."""

    __tablename__ = "repair_refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(one_of("status", REFUND_STATUSES), name="status_known"),
        Index("ix_repair_refunds_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("repair_payments.id", ondelete="CASCADE"), index=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    # Stripe's refund id for a card; empty for money staff send back by bank.
    provider_id: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # A card refund's key for Stripe, fixed when the row is recorded: asking again (the sweep
    # after a crash) can never refund twice. NULL for a bank transfer.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    failure_message: Mapped[str] = mapped_column(String(500), default="")
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]

    payment: Mapped[RepairPayment] = relationship(back_populates="refunds")
    by_user = relationship("User")
