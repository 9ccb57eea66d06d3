"""What the shop tells search engines it has: published products and their batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.catalog.models import EditionRun, Product, ProductStatus
from app.extensions import db


@dataclass(frozen=True)
class Listed:
    key: str  # a product's slug or a batch's code
    changed: datetime | None


def published_products() -> list[Listed]:
    rows = db.session.execute(
        select(Product.slug, Product.published_at, Product.created_at)
        .where(Product.status == ProductStatus.PUBLISHED.value)
        .order_by(Product.id)
    )
    return [Listed(slug, published or created) for slug, published, created in rows]


def published_batches() -> list[Listed]:
    """Batches of products that are published or retired (a retired piece's batch is history)."""
    rows = db.session.execute(
        select(EditionRun.batch_code, EditionRun.closed_at)
        .join(Product, Product.id == EditionRun.product_id)
        .where(Product.status != ProductStatus.DRAFT.value)
        .order_by(EditionRun.id)
    )
    return [Listed(code, closed) for code, closed in rows]
