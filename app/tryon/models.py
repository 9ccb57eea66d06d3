from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Metal, Product
from app.domain.clock import utcnow
from app.extensions import db


class TryonSnapshot(db.Model):
    """A try-on picture the buyer chose to keep (live frames are never stored)."""

    __tablename__ = "tryon_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    metal_id: Mapped[int | None] = mapped_column(ForeignKey("metals.id"))
    image_name: Mapped[str] = mapped_column(String(255))  # app.common.uploads name
    head_circumference_mm: Mapped[int | None]
    recommended_size: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product | None] = relationship()
    metal: Mapped[Metal | None] = relationship()
