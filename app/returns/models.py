"""Return requests, the order lines they cover and the buyer's photos.

Status (``return_requests.status``), one of RETURN_STATUSES:

- ``requested``  the buyer asked, within the window
- ``refused``    the atelier said no, with a reason (the lines may be asked for again)
- ``approved``   a return authorisation (RA) number and instructions were sent
- ``received``   the parcel arrived at the studio
- ``inspected``  checked against the return checklist (passed or failed)
- ``refunded``   the money went back (by card through Stripe, or by bank transfer)

A line is on at most one live return (``return_lines.active``; a partial UNIQUE index), so two
requests for the same piece cannot both be open, and a refunded piece cannot be returned twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.clock import utcnow
from app.domain.returns import REASON_CODES
from app.extensions import db, one_of

RETURN_STATUSES: tuple[str, ...] = (
    "requested",
    "refused",
    "approved",
    "received",
    "inspected",
    "refunded",
)
OPEN_STATUSES: tuple[str, ...] = ("requested", "approved", "received", "inspected")
REFUND_METHODS: tuple[str, ...] = ("", "card", "bank")
EMPTY_LIST = text("'[]'")
STATUS_LABELS = {
    "requested": "Requested",
    "refused": "Refused",
    "approved": "Approved: awaiting the parcel",
    "received": "Received at the studio",
    "inspected": "Inspected",
    "refunded": "Refunded",
}


class ReturnRequest(db.Model):
    __tablename__ = "return_requests"
    __table_args__ = (
        CheckConstraint(one_of("status", RETURN_STATUSES), name="status_known"),
        CheckConstraint(one_of("reason", REASON_CODES), name="reason_known"),
        CheckConstraint(one_of("refund_method", REFUND_METHODS), name="refund_method_known"),
        CheckConstraint("refunded_minor >= 0", name="refunded_not_negative"),
        CheckConstraint("status <> 'approved' OR ra_number IS NOT NULL", name="approved_has_ra"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # The return authorisation number the buyer writes on the parcel; set on approval.
    ra_number: Mapped[str | None] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="requested", server_default="requested")
    reason: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(Text, default="", server_default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    refusal_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    received_at: Mapped[datetime | None]
    inspected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    inspected_at: Mapped[datetime | None]
    inspection_items: Mapped[list] = mapped_column(JSON, default=list, server_default=EMPTY_LIST)
    inspection_passed: Mapped[bool | None]
    inspection_notes: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    refund_method: Mapped[str] = mapped_column(String(8), default="", server_default="")
    # The bank's reference for a refund by transfer (what staff noted when they sent it).
    refund_reference: Mapped[str] = mapped_column(String(120), default="", server_default="")
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    refunded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    refunded_at: Mapped[datetime | None]
    # The checkout refunds (refunds.id) this return made; a card refund may still be pending.
    refund_ids: Mapped[list] = mapped_column(JSON, default=list, server_default=EMPTY_LIST)

    order = relationship("Order")
    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ReturnLine.id"
    )
    photos: Mapped[list[ReturnPhoto]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ReturnPhoto.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def status_label(self) -> str:
        if self.status == "inspected":
            return "Inspected: passed" if self.inspection_passed else "Inspected: failed"
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def amount_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)


class ReturnLine(db.Model):
    __tablename__ = "return_lines"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        # One live return per order line: refused returns step aside (active false).
        Index(
            "uq_return_lines_active_line",
            "order_line_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("return_requests.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    # The line's goods value as sold: what a full refund of this line gives back.
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    # What became of the piece after inspection: restocked, withheld, kept or retired.
    outcome: Mapped[str] = mapped_column(String(12), default="", server_default="")

    request: Mapped[ReturnRequest] = relationship(back_populates="lines")
    order_line = relationship("OrderLine")


class ReturnPhoto(db.Model):
    __tablename__ = "return_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("return_requests.id", ondelete="CASCADE"), index=True
    )
    upload: Mapped[str] = mapped_column(String(255))  # a key in uploads storage
    content_type: Mapped[str] = mapped_column(String(60))

    request: Mapped[ReturnRequest] = relationship(back_populates="photos")
