"""The atelier's metal rates: change a price per gram, keep the dated history, reprice.

Breakdowns are priced live from the rates, so a change reprices every product at once; each
product's "from" price (the catalogue's sort and filter column) is recomputed in the same
transaction, and every server's page cache is told after the commit. Orders keep the breakdown
frozen at purchase and never change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.catalog.models import Metal, MetalRateChange, Product, product_metals
from app.catalog.services import refresh_list_price
from app.common import caching
from app.common.locks import lock_row
from app.domain.clock import utcnow
from app.extensions import db

# A gram of platinum is some hundreds of minor units; this bounds typing slips, not markets.
MAX_RATE_MINOR = 10_000_000


class RateError(ValueError):
    """The rate cannot be set; the message is for people."""


@dataclass(frozen=True)
class RateChanged:
    metal_name: str
    old_rate_minor: int
    new_rate_minor: int
    products_repriced: int


def metals() -> list[Metal]:
    return list(db.session.execute(select(Metal).order_by(Metal.position, Metal.id)).scalars())


def set_metal_rate(
    *, metal_code: str, rate_per_gram_minor: int, by_user_id: int | None, note: str = ""
) -> RateChanged:
    """Set a metal's price per gram, record who changed it, and reprice the catalogue."""
    if isinstance(rate_per_gram_minor, bool) or not isinstance(rate_per_gram_minor, int):
        raise RateError("Give the rate as an amount of money.")
    if not 0 < rate_per_gram_minor <= MAX_RATE_MINOR:
        raise RateError("A rate per gram must be more than nothing and at most 100,000.00.")
    metal_id = db.session.execute(select(Metal.id).where(Metal.code == metal_code)).scalar()
    metal = lock_row(Metal, metal_id) if metal_id is not None else None
    if metal is None:
        raise RateError("No such metal.")
    old = metal.rate_per_gram_minor
    if old == rate_per_gram_minor:
        raise RateError(f"{metal.name} is already at that rate.")
    metal.rate_per_gram_minor = rate_per_gram_minor
    db.session.add(
        MetalRateChange(
            metal_id=metal.id,
            old_rate_minor=old,
            new_rate_minor=rate_per_gram_minor,
            note=note.strip()[:200],
            changed_by_id=by_user_id,
            changed_at=utcnow(),
        )
    )
    products = list(
        db.session.execute(
            select(Product).join(product_metals).where(product_metals.c.metal_id == metal.id)
        ).scalars()
    )
    for product in products:
        refresh_list_price(product)
    caching.catalogue_changed()
    return RateChanged(metal.name, old, rate_per_gram_minor, len(products))


def rate_history(*, limit: int = 50) -> list[MetalRateChange]:
    """The latest rate changes, newest first."""
    return list(
        db.session.execute(
            select(MetalRateChange)
            .order_by(MetalRateChange.changed_at.desc(), MetalRateChange.id.desc())
            .limit(limit)
        ).scalars()
    )
