"""Catalog operations: listing with filters, product lookup, pricing and edition status."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from sqlalchemy import String, cast, exists, func, select
from sqlalchemy.orm import contains_eager, joinedload, with_expression

from app.catalog.filters import CatalogFilter
from app.catalog.models import (
    EditionRun,
    FitSize,
    Metal,
    Overlay,
    Piece,
    Product,
    ProductImage,
    Tier,
    piece_is_free,
    product_metals,
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
    metal_count: int = 1
    image_path: str | None = None  # the first picture, if any
    image_alt: str = ""
    image_variants: list | None = None  # its smaller renditions, for srcset

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
    """Products matching the filter, each with what its card shows, in one query."""
    counts = _available_counts()
    available = func.coalesce(counts.c.available, 0)
    # What a card needs of the collections (its first picture, how many metals) comes from
    # subqueries, so no collection is loaded for the list.
    first_image = (
        select(ProductImage.id)
        .where(ProductImage.product_id == Product.id)
        .order_by(ProductImage.position, ProductImage.id)
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )
    metal_count = (
        select(func.count())
        .select_from(product_metals)
        .where(product_metals.c.product_id == Product.id)
        .correlate(Product)
        .scalar_subquery()
    )
    stmt = (
        select(
            Product,
            available,
            metal_count,
            ProductImage.path,
            ProductImage.alt,
            ProductImage.variants,
        )
        .outerjoin(counts, counts.c.product_id == Product.id)
        .outerjoin(ProductImage, ProductImage.id == first_image)
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
    return [
        ProductCard(
            product=p,
            available=n,
            metal_count=m,
            image_path=path,
            image_alt=alt or "",
            image_variants=variants,
        )
        for p, n, m, path, alt, variants in db.session.execute(stmt)
    ]


def get_product(slug: str) -> Product:
    """Return the product with this slug and what its page and price need, or ProductNotFound.

    One query: the default metal and the few metals, pictures and stones are joined in (a
    handful of rows) and ``has_tryon`` is filled in. Edition runs are asked for by
    edition_summaries() when a page shows them; joining them and the try-on pictures too
    multiplied the rows by their counts.
    """
    # Only a calibrated overlay (band ends and width confirmed by staff) offers a try-on.
    tryon = exists().where(Overlay.product_id == Product.id, Overlay.calibrated_at.is_not(None))
    product = (
        db.session.execute(
            select(Product)
            .where(Product.slug == slug)
            .options(
                with_expression(Product.has_tryon, tryon),
                joinedload(Product.default_metal),
                joinedload(Product.images),
                joinedload(Product.metals),
                joinedload(Product.stones),
            )
        )
        .unique()
        .scalar_one_or_none()
    )
    if product is None:
        raise ProductNotFound(f"No piece called {slug!r}.")
    return product


def edition_summaries(product: Product) -> list[EditionSummary]:
    """Each edition run of a studio product with the numbers still free, in one query.

    The database lists each run's free numbers (one row per run, however large the edition),
    so no piece row is loaded.
    """
    free = func.aggregate_strings(cast(Piece.number, String), ",")
    rows = db.session.execute(
        select(EditionRun, free)
        .join(EditionRun.metal)
        .outerjoin(Piece, (Piece.run_id == EditionRun.id) & piece_is_free(utcnow()))
        .where(EditionRun.product_id == product.id)
        .options(contains_eager(EditionRun.metal))
        .group_by(EditionRun.id, Metal.id)
        .order_by(EditionRun.id)
    ).all()
    return [EditionSummary(run=run, available_numbers=_numbers(numbers)) for run, numbers in rows]


def _numbers(joined: str | None) -> tuple[int, ...]:
    return tuple(sorted(int(n) for n in joined.split(","))) if joined else ()


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
