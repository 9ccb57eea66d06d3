"""Production records: every stage move and design approval round (QC checks live in app.qc)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.clock import utcnow
from app.extensions import db

DESIGN_KINDS = ("cad", "proof")
DECISIONS = ("approved", "changes_requested")


class StageTransition(db.Model):
    """One stage change of an order line: from, to, how, who and when (never edited)."""

    __tablename__ = "stage_transitions"
    __table_args__ = (Index("ix_stage_transitions_line_created", "order_line_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(40))
    to_stage: Mapped[str] = mapped_column(String(40))
    via: Mapped[str] = mapped_column(String(20))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    by_user = relationship("User")


class DesignRound(db.Model):
    """One round of a design approval: staff send renders or proof photos, the customer decides."""

    __tablename__ = "design_rounds"
    __table_args__ = (
        UniqueConstraint("order_line_id", "kind", "number"),
        CheckConstraint("kind IN ('cad', 'proof')", name="kind_known"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(
            "decision IS NULL OR decision IN ('approved', 'changes_requested')",
            name="decision_known",
        ),
        CheckConstraint("(decision IS NULL) = (decided_at IS NULL)", name="decision_has_time"),
        CheckConstraint(
            "decision IS NULL OR decision = 'approved' OR length(comment) > 0",
            name="changes_need_comment",
        ),
        # At most one round of each kind waits for the customer at a time.
        Index(
            "uq_design_rounds_open",
            "order_line_id",
            "kind",
            unique=True,
            sqlite_where=text("decision IS NULL"),
            postgresql_where=text("decision IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    number: Mapped[int]
    message: Mapped[str] = mapped_column(Text, default="")  # from the atelier to the customer
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")  # the customer's
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]

    files: Mapped[list[DesignFile]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="DesignFile.id"
    )
    sent_by = relationship("User", foreign_keys=[sent_by_id])

    @property
    def title(self) -> str:
        noun = "CAD render" if self.kind == "cad" else "Hand-finish proof"
        return f"{noun}, round {self.number}"


class DesignFile(db.Model):
    __tablename__ = "design_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("design_rounds.id", ondelete="CASCADE"))
    upload_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(60))
    caption: Mapped[str] = mapped_column(String(200), default="")

    round: Mapped[DesignRound] = relationship(back_populates="files")


class PackingRecord(db.Model):
    """How a line was packed: the ritual's items, checked off, and a photo of the packed piece.

    One per line (a line is packed once); the buyer sees the photo on their order page.
    """

    __tablename__ = "packing_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True
    )
    items: Mapped[list] = mapped_column(JSON)  # the ritual's keys, in order (app.domain.packing)
    photo_upload: Mapped[str] = mapped_column(String(255))  # a key in uploads storage
    photo_content_type: Mapped[str] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(String(500), default="")
    packed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    packed_at: Mapped[datetime] = mapped_column(default=utcnow)

    packed_by = relationship("User")
