"""Catalog operations: listing with filters, product lookup, pricing and edition status."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app.catalog.filters import CatalogFilter
from app.catalog.models import (
    EditionRun,
    FitSize,
    Metal,
    Piece,
    Product,
    Tier,
    piece_is_free,
)
from app.domain import pricing
from app.domain.clock import utcnow
from app.extensions import db


class CatalogError(Exception):
    """Base of the catalog's errors; the message is for the buyer."""


class ProductNotFound(CatalogError):
    pass


class UnknownOption(CatalogError):
    pass


@dataclass(frozen=True)
class ProductCard:
    product: Product
    available: int  # free numbered pieces (studio); custom pieces are made to order

    @property
    def in_stock(self) -> bool:
        return self.product.is_custom or self.available > 0


@dataclass(frozen=True)
class EditionSummary:
    run: EditionRun
    available_numbers: tuple[int, ...]

    @property
    def available(self) -> int:
        return len(self.available_numbers)


def all_metals() -> list[Metal]:
    return list(db.session.execute(db.select(Metal).order_by(Metal.position)).scalars())


def all_sizes() -> list[FitSize]:
    # Asked for several times per request (pricing, the size picker), so kept for the request.
    sizes = g.get("diadem_sizes")
    if not sizes:
        sizes = list(db.session.execute(db.select(FitSize).order_by(FitSize.position)).scalars())
        g.diadem_sizes = sizes
    return sizes


def _available_counts():
    return (
        select(EditionRun.product_id, func.count(Piece.id).label("available"))
        .join(Piece, Piece.run_id == EditionRun.id)
        .where(piece_is_free(utcnow()))
        .group_by(EditionRun.product_id)
        .subquery()
    )


def list_products(catalog_filter: CatalogFilter) -> list[ProductCard]:
    """Products matching the filter, with availability, in a fixed number of queries."""
    counts = _available_counts()
    available = func.coalesce(counts.c.available, 0)
    stmt = (
        select(Product, available)
        .outerjoin(counts, counts.c.product_id == Product.id)
        .options(selectinload(Product.images), selectinload(Product.metals))
    )
    f = catalog_filter
    if f.kind:
        stmt = stmt.where(Product.kind == f.kind)
    if f.tier:
        stmt = stmt.where(Product.tier == f.tier)
    if f.metal:
        stmt = stmt.where(Product.metals.any(Metal.code == f.metal))
    if f.min_price_minor is not None:
        stmt = stmt.where(Product.list_price_minor >= f.min_price_minor)
    if f.max_price_minor is not None:
        stmt = stmt.where(Product.list_price_minor <= f.max_price_minor)
    if f.available_only:
        stmt = stmt.where((Product.tier == Tier.CUSTOM.value) | (available > 0))
    order = {
        "price-asc": (Product.list_price_minor.asc(), Product.id),
        "price-desc": (Product.list_price_minor.desc(), Product.id),
        "newest": (Product.created_at.desc(), Product.id.desc()),
    }[f.sort]
    stmt = stmt.order_by(*order)
    return [ProductCard(product=p, available=n) for p, n in db.session.execute(stmt)]


def get_product(slug: str) -> Product:
    """Return the product with this slug and what its page needs, or raise ProductNotFound."""
    # One round trip: the to-many collections are small (a handful of rows each), so joining
    # them is cheaper than a query per collection on the hottest page.
    product = (
        db.session.execute(
            select(Product)
            .where(Product.slug == slug)
            .options(
                joinedload(Product.default_metal),
                joinedload(Product.images),
                joinedload(Product.metals),
                joinedload(Product.stones),
                joinedload(Product.overlays),
                joinedload(Product.runs).joinedload(EditionRun.metal),
            )
        )
        .unique()
        .scalar_one_or_none()
    )
    if product is None:
        raise ProductNotFound(f"No piece called {slug!r}.")
    return product


def edition_summaries(product: Product) -> list[EditionSummary]:
    """Each edition run of a studio product with the numbers still free."""
    if not product.runs:
        return []
    rows = db.session.execute(
        select(Piece.run_id, Piece.number)
        .where(Piece.run_id.in_([run.id for run in product.runs]), piece_is_free(utcnow()))
        .order_by(Piece.run_id, Piece.number)
    ).all()
    free: dict[int, list[int]] = {}
    for run_id, number in rows:
        free.setdefault(run_id, []).append(number)
    return [
        EditionSummary(run=run, available_numbers=tuple(free.get(run.id, ())))
        for run in product.runs
    ]


def bill_of_materials(product: Product) -> pricing.BillOfMaterials:
    return pricing.BillOfMaterials(
        metal_weight_mg=product.metal_weight_mg,
        stones=tuple(
            pricing.StoneSet(kind=s.kind, count=s.count, unit_price_minor=s.unit_price_minor)
            for s in product.stones
        ),
        bench_minutes=product.bench_minutes,
        labour_rate_per_hour_minor=product.labour_rate_per_hour_minor,
        provenance_minor=product.provenance_minor,
        packaging_minor=product.packaging_minor,
        shipping_minor=product.shipping_minor,
        insurance_bp=product.insurance_bp,
        currency=product.currency,
    )


def _metal_rate(metal: Metal) -> pricing.MetalRate:
    return pricing.MetalRate(
        code=metal.code, name=metal.name, rate_per_gram_minor=metal.rate_per_gram_minor
    )


def _fit_size(size: FitSize) -> pricing.FitSize:
    return pricing.FitSize(
        code=size.code,
        label=size.label,
        min_circumference_mm=size.min_circumference_mm,
        max_circumference_mm=size.max_circumference_mm,
        adjustment_minor=size.adjustment_minor,
        metal_permille=size.metal_permille,
    )


@dataclass(frozen=True)
class PricedOption:
    metal: Metal
    size: FitSize
    breakdown: pricing.Breakdown


def resolve_options(
    product: Product, *, size_code: str | None, metal_code: str | None
) -> tuple[Metal, FitSize]:
    """Return the chosen metal and size (defaults when not given); UnknownOption if not offered."""
    sizes = all_sizes()
    if not sizes:
        raise UnknownOption("No sizes are set up.")
    if size_code is None or size_code == "":
        size = next((s for s in sizes if s.code == "M"), sizes[0])
    else:
        size = next((s for s in sizes if s.code == size_code), None)
        if size is None:
            offered = ", ".join(s.code for s in sizes)
            raise UnknownOption(f"Unknown size {size_code[:20]!r}; choose one of {offered}.")
    if metal_code is None or metal_code == "":
        metal = product.default_metal
    else:
        metal = next((m for m in product.metals if m.code == metal_code), None)
        if metal is None:
            offered = ", ".join(m.code for m in product.metals)
            raise UnknownOption(
                f"{product.name} is not made in {metal_code[:30]!r}; choose one of {offered}."
            )
    return metal, size


def price_product(
    product: Product, *, size_code: str | None = None, metal_code: str | None = None
) -> PricedOption:
    """Price a product in a metal and size; raise UnknownOption for an option it lacks."""
    metal, size = resolve_options(product, size_code=size_code, metal_code=metal_code)
    breakdown = pricing.price_piece(bill_of_materials(product), _metal_rate(metal), _fit_size(size))
    return PricedOption(metal=metal, size=size, breakdown=breakdown)


def refresh_list_price(product: Product) -> None:
    """Recompute the product's "from" price (cheapest metal and size); caller commits."""
    sizes = all_sizes()
    bom = bill_of_materials(product)
    product.list_price_minor = min(
        pricing.price_piece(bom, _metal_rate(m), _fit_size(s)).total.minor
        for m in product.metals
        for s in sizes
    )
