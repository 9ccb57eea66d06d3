"""The custom pieces and try-on snapshots a booking can refer to."""

from __future__ import annotations

from app.booking.services.errors import SnapshotNotFound
from app.catalog.models import Product, ProductStatus, Tier
from app.extensions import db
from app.tryon import services as tryon
from app.tryon.models import TryonSnapshot


def custom_products() -> list[Product]:
    return list(
        db.session.execute(
            db.select(Product)
            .where(Product.tier == Tier.CUSTOM.value, Product.status == ProductStatus.PUBLISHED)
            .order_by(Product.name)
        ).scalars()
    )


def product_by_slug(slug: str) -> Product | None:
    """A product a consultation may be about: one on sale (not a draft, not retired)."""
    return db.session.execute(
        db.select(Product).where(Product.slug == slug, Product.status == ProductStatus.PUBLISHED)
    ).scalar_one_or_none()


def snapshots_for_user(*, user_id: int) -> list[TryonSnapshot]:
    """The customer's saved try-on snapshots, newest first (the try-on feature's list)."""
    return tryon.list_snapshots(user_id=user_id)


def snapshot_for_user(*, snapshot_id: int, user_id: int | None) -> TryonSnapshot:
    """The user's own snapshot; raise SnapshotNotFound for anyone else's (or a guest)."""
    # Ownership is the try-on feature's rule; booking only words the refusal for its form.
    message = "We could not find that try-on snapshot in your account."
    if user_id is None:
        raise SnapshotNotFound(message)
    try:
        return tryon.get_snapshot(snapshot_id=snapshot_id, user_id=user_id)
    except tryon.SnapshotNotFound as exc:
        raise SnapshotNotFound(message) from exc
