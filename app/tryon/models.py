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
    # The estimate's 80 % range (ar.headsize), shown wherever the estimate travels.
    head_circumference_low_mm: Mapped[int | None]
    head_circumference_high_mm: Mapped[int | None]
    recommended_size: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def head_circumference_range_cm(self) -> str | None:
        """Return the estimate's range as "52.9–57.9" (cm), or None when not recorded."""
        low, high = self.head_circumference_low_mm, self.head_circumference_high_mm
        if low is None or high is None:
            return None
        return f"{low / 10:.1f}–{high / 10:.1f}"

    product: Mapped[Product | None] = relationship()
    metal: Mapped[Metal | None] = relationship()
