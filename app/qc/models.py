"""QC checks: the filled-in checklist of a piece, in production or after a repair."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.clock import utcnow
from app.domain.production import FINISH_GRADES
from app.extensions import db


class QcCheck(db.Model):
    """A QC checklist filled in for a piece, by a checker who is not the artisan who made it."""

    __tablename__ = "qc_checks"
    __table_args__ = (
        # The four-eyes rule, held by the database as well as the service.
        CheckConstraint("artisan_id <> checker_id", name="four_eyes"),
        CheckConstraint(
            f"finish_grade IN ({', '.join(repr(g) for g in FINISH_GRADES)})",
            name="finish_grade_known",
        ),
        CheckConstraint("measured_mg > 0 AND expected_mg > 0", name="weights_positive"),
        CheckConstraint(
            "NOT passed OR (stone_tightness AND solder_integrity AND hallmark_present"
            " AND weight_ok AND finish_ok)",
            name="passed_means_every_item",
        ),
        CheckConstraint("order_line_id IS NULL OR repair_ticket_id IS NULL", name="one_context"),
        Index("ix_qc_checks_line", "order_line_id", "id"),
        Index("ix_qc_checks_ticket", "repair_ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    passport_id: Mapped[int | None] = mapped_column(ForeignKey("passports.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE")
    )
    repair_ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("repair_tickets.id", ondelete="CASCADE")
    )
    artisan_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    checker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stone_tightness: Mapped[bool]
    solder_integrity: Mapped[bool]
    hallmark_present: Mapped[bool]
    measured_mg: Mapped[int]
    expected_mg: Mapped[int]
    tolerance_permille: Mapped[int]
    weight_ok: Mapped[bool]
    finish_grade: Mapped[str] = mapped_column(String(1))
    finish_ok: Mapped[bool]
    passed: Mapped[bool]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    artisan = relationship("User", foreign_keys=[artisan_id])
    checker = relationship("User", foreign_keys=[checker_id])
    passport = relationship("Passport")
    order_line = relationship("OrderLine")
