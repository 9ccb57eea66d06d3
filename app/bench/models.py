"""Hand-finish standards, bench records with their photos/videos, and admin QC overrides."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.clock import utcnow
from app.extensions import db


class HandFinishStandard(db.Model):
    """What hand finishing a product kind takes: minimum bench time, grade descriptions."""

    __tablename__ = "hand_finish_standards"
    __table_args__ = (CheckConstraint("min_minutes >= 0", name="min_minutes_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), unique=True)  # a product kind (crown, tiara)
    min_minutes: Mapped[int]
    # The acceptable surface variance: each finish grade (A, B, C) with its description.
    grade_descriptions: Mapped[dict] = mapped_column(JSON)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    photos: Mapped[list[ReferencePhoto]] = relationship(
        back_populates="standard", order_by="ReferencePhoto.id", cascade="all, delete-orphan"
    )


class ReferencePhoto(db.Model):
    """An approved reference photo of the finish a standard asks for."""

    __tablename__ = "hand_finish_reference_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(
        ForeignKey("hand_finish_standards.id", ondelete="CASCADE"), index=True
    )
    upload_name: Mapped[str] = mapped_column(String(255))  # a key in uploads storage
    content_type: Mapped[str] = mapped_column(String(60))
    caption: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    standard: Mapped[HandFinishStandard] = relationship(back_populates="photos")


class BenchSession(db.Model):
    """One sitting at the bench on an order line: time spent, tools used, who, when."""

    __tablename__ = "bench_sessions"
    __table_args__ = (
        CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes_in_a_day"),
        Index("ix_bench_sessions_line", "order_line_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    artisan_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    minutes: Mapped[int]
    tools: Mapped[str] = mapped_column(String(500), default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)  # the server's clock

    artisan = relationship("User")
    order_line = relationship("OrderLine")
    media: Mapped[list[BenchMedia]] = relationship(
        back_populates="session", order_by="BenchMedia.id", cascade="all, delete-orphan"
    )


class BenchMedia(db.Model):
    """A bench photo or short video; public on the passport only once staff choose it."""

    __tablename__ = "bench_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("bench_sessions.id", ondelete="CASCADE"), index=True
    )
    upload_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(60))
    taken_at: Mapped[datetime | None]  # the photo's own EXIF date, when it carried one
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    on_passport: Mapped[bool] = mapped_column(default=False)
    chosen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    chosen_at: Mapped[datetime | None]

    session: Mapped[BenchSession] = relationship(back_populates="media")

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")


class QcOverride(db.Model):
    """An admin's leave to pass QC below the bench minimum: who, when, why (never edited)."""

    __tablename__ = "qc_overrides"
    __table_args__ = (
        CheckConstraint("length(reason) > 0", name="reason_given"),
        Index("ix_qc_overrides_line", "order_line_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    admin_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    minutes_recorded: Mapped[int]
    minutes_required: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The passing check it let through (one override, one pass; rework needs a new one).
    qc_check_id: Mapped[int | None] = mapped_column(
        ForeignKey("qc_checks.id", ondelete="SET NULL"), unique=True
    )

    admin = relationship("User")
