"""Catalog operations: listing with filters, product lookup, pricing and edition status."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

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
    ProductStatus,
    Tier,
    piece_is_free,
    product_metals,
    product_sizes,
)
from app.common import caching
from app.domain import pricing
from app.domain.clock import utcnow
from app.domain.editions import format_piece_number
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

    @property
    def available_labels(self) -> tuple[str, ...]:
        """The free numbers as printed ("07/25")."""
        return tuple(format_piece_number(n, self.run.size) for n in self.available_numbers)


def all_metals() -> list[Metal]:
    return list(db.session.execute(db.select(Metal).order_by(Metal.position)).scalars())


@dataclass(frozen=True)
class MetalChoice:
    """A metal as the catalog's filter offers it."""

    code: str
    name: str


# The catalog's metal filter is the same on every request: the shared cache keeps it this long
# (a new metal or a renamed one starts a new catalogue generation, so it shows at once).
METAL_CHOICES_SECONDS = 60.0


def _load_metal_choices() -> list[MetalChoice]:
    return [MetalChoice(code=m.code, name=m.name) for m in all_metals()]


def metal_choices() -> list[MetalChoice]:
    """Every metal's code and name, in the order staff set, for the catalog's filter."""
    return caching.remember(
        "catalog:metal-choices", _load_metal_choices, timeout=METAL_CHOICES_SECONDS
    )


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
        # Drafts are staff's and retired pieces are no longer offered: neither is listed.
        .where(Product.status == ProductStatus.PUBLISHED.value)
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


@dataclass(frozen=True)
class ProductOptions:
    """What a product is offered in beyond its metals: grams per metal and the sizes."""

    # Milligrams of metal by metal id where it differs from the product's metal_weight_mg.
    metal_weights_mg: Mapping[int, int] = field(default_factory=dict)
    # The offered sizes' ids; empty means every size.
    size_ids: frozenset[int] = frozenset()


_OPTIONS = "diadem_product_options"  # g: product id -> ProductOptions, for the request


def _metal_weights_text(product_id: int):
    """SQL: the product's "metal id:milligrams" pairs where a metal has grams of its own."""
    return (
        select(
            func.aggregate_strings(
                cast(product_metals.c.metal_id, String)
                + ":"
                + cast(product_metals.c.weight_mg, String),
                ",",
            )
        )
        .where(
            product_metals.c.product_id == product_id,
            product_metals.c.weight_mg.is_not(None),
        )
        .scalar_subquery()
    )


def _parse_weights(text: str | None) -> dict[int, int]:
    pairs = (pair.split(":") for pair in text.split(",")) if text else ()
    return {int(metal): int(mg) for metal, mg in pairs}


def load_product_options(product: Product) -> ProductOptions:
    """Read the product's grams per metal and offered sizes afresh, with every size.

    A product's page and price need the sizes anyway: asking in the same statement which of
    them it is offered in and its grams per metal keeps the page at one query for all three
    (tests/catalog/test_page_cost.py). The sizes read are kept for the request (all_sizes()).
    """
    if product.id is None:
        db.session.flush()  # a product being created: its rows must exist to be read
    offered = (
        exists()
        .where(product_sizes.c.product_id == product.id)
        .where(product_sizes.c.fit_size_id == FitSize.id)
    )
    weights = _metal_weights_text(product.id)
    rows = db.session.execute(select(FitSize, offered, weights).order_by(FitSize.position)).all()
    if rows:
        g.diadem_sizes = [size for size, _, _ in rows]
        text = rows[0][2]
    else:
        text = db.session.execute(select(weights)).scalar()
    options = ProductOptions(
        metal_weights_mg=_parse_weights(text),
        size_ids=frozenset(size.id for size, is_offered, _ in rows if is_offered),
    )
    g.setdefault(_OPTIONS, {})[product.id] = options
    return options


def product_options(product: Product) -> ProductOptions:
    """The product's grams per metal and offered sizes, read once per request."""
    known = g.get(_OPTIONS, {}).get(product.id)
    return known if known is not None else load_product_options(product)


def forget_product_options(product_id: int) -> None:
    """Drop what this request read of a product's options (they were just changed)."""
    g.get(_OPTIONS, {}).pop(product_id, None)


def get_product(slug: str, *, include_drafts: bool = False) -> Product:
    """Return the product with this slug and what its page and price need, or ProductNotFound.

    A draft is found only with ``include_drafts`` (staff's preview); a retired product is
    found, so old orders, passports and links keep their page.

    One query: the default metal and the few metals, pictures and stones are joined in (a
    handful of rows) and ``has_tryon`` is filled in. Edition runs are asked for by
    edition_summaries() when a page shows them; joining them and the try-on pictures too
    multiplied the rows by their counts. The grams per metal and offered sizes come with the
    sizes (load_product_options).
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
    if product is None or (product.status == ProductStatus.DRAFT.value and not include_drafts):
        raise ProductNotFound(f"No piece called {slug[:80]!r}.")
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
    return [
        EditionSummary(run=run, available_numbers=parse_numbers(numbers)) for run, numbers in rows
    ]


def parse_numbers(joined: str | None) -> tuple[int, ...]:
    return tuple(sorted(int(n) for n in joined.split(","))) if joined else ()


def bill_of_materials(product: Product, metal: Metal | None = None) -> pricing.BillOfMaterials:
    """What the product is made of in ``metal`` (default: its default metal).

    A metal offered with grams of its own (platinum is denser than silver) uses them; any
    other uses the product's metal_weight_mg.
    """
    metal_id = metal.id if metal is not None else product.default_metal_id
    weight_mg = product_options(product).metal_weights_mg.get(metal_id, product.metal_weight_mg)
    return pricing.BillOfMaterials(
        metal_weight_mg=weight_mg,
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


def metal_rate(metal: Metal) -> pricing.MetalRate:
    return pricing.MetalRate(
        code=metal.code, name=metal.name, rate_per_gram_minor=metal.rate_per_gram_minor
    )


def fit_size(size: FitSize) -> pricing.FitSize:
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


def offered_sizes(product: Product) -> list[FitSize]:
    """The sizes the product is offered in, smallest first (every size when none is chosen)."""
    ids = product_options(product).size_ids
    sizes = all_sizes()
    return [s for s in sizes if s.id in ids] if ids else sizes


class _Coded(Protocol):
    @property
    def code(self) -> str: ...


M = TypeVar("M", bound=_Coded)  # a metal: an ORM row or the read model's value
S = TypeVar("S", bound=_Coded)  # a size, likewise


def resolve_options(
    product: Product, *, size_code: str | None, metal_code: str | None
) -> tuple[Metal, FitSize]:
    """Return the chosen metal and size (defaults when not given); UnknownOption if not offered."""
    return pick_options(
        name=product.name,
        sizes=offered_sizes(product),
        metals=product.metals,
        default_metal=product.default_metal,
        known_size_codes={s.code for s in all_sizes()},
        size_code=size_code,
        metal_code=metal_code,
    )


def pick_options(
    *,
    name: str,
    sizes: Sequence[S],
    metals: Sequence[M],
    default_metal: M,
    known_size_codes: Collection[str],
    size_code: str | None,
    metal_code: str | None,
) -> tuple[M, S]:
    """The chosen metal and size among those offered (size M and the default metal when not
    given), for ORM rows and the read model's values alike; UnknownOption, in words a buyer can
    act on, for one not offered."""
    if not sizes:
        raise UnknownOption("No sizes are set up.")
    if size_code is None or size_code == "":
        size = next((s for s in sizes if s.code == "M"), sizes[0])
    else:
        size = next((s for s in sizes if s.code == size_code), None)
        if size is None:
            offered = ", ".join(s.code for s in sizes)
            if size_code in known_size_codes:
                raise UnknownOption(
                    f"{name} is not offered in size {size_code}; choose one of {offered}."
                )
            raise UnknownOption(f"Unknown size {size_code[:20]!r}; choose one of {offered}.")
    if metal_code is None or metal_code == "":
        metal = default_metal
    else:
        metal = next((m for m in metals if m.code == metal_code), None)
        if metal is None:
            offered = ", ".join(m.code for m in metals)
            raise UnknownOption(
                f"{name} is not made in {metal_code[:30]!r}; choose one of {offered}."
            )
    return metal, size


def price_product(
    product: Product, *, size_code: str | None = None, metal_code: str | None = None
) -> PricedOption:
    """Price a product in a metal and size; raise UnknownOption for an option it lacks."""
    metal, size = resolve_options(product, size_code=size_code, metal_code=metal_code)
    breakdown = pricing.price_piece(
        bill_of_materials(product, metal), metal_rate(metal), fit_size(size)
    )
    return PricedOption(metal=metal, size=size, breakdown=breakdown)


@dataclass(frozen=True)
class ProductPage:
    """What a product's page shows: the piece priced in the chosen options, sizes, editions."""

    product: Product
    priced: PricedOption
    sizes: list[FitSize]
    editions: list[EditionSummary]
    problem: str | None = None  # an option it lacks was asked for: the defaults are shown

    def context(self) -> dict[str, object]:
        return {
            "product": self.product,
            "priced": self.priced,
            "sizes": self.sizes,
            "editions": self.editions,
        }


def product_page(
    product: Product, *, size_code: str | None = None, metal_code: str | None = None
) -> ProductPage:
    """Price the product page in the chosen options, falling back to the defaults."""
    problem = None
    try:
        priced = price_product(product, size_code=size_code, metal_code=metal_code)
    except UnknownOption as exc:
        problem = str(exc)
        priced = price_product(product)
    return ProductPage(
        product=product,
        priced=priced,
        sizes=offered_sizes(product),
        editions=edition_summaries(product) if product.is_studio else [],
        problem=problem,
    )


def refresh_list_price(product: Product) -> None:
    """Recompute the product's "from" price (cheapest metal and size); caller commits.

    Reads the grams per metal and the offered sizes afresh from the database (the session's
    pending changes are flushed first, by autoflush).
    """
    load_product_options(product)
    product.list_price_minor = min(
        pricing.price_piece(bill_of_materials(product, m), metal_rate(m), fit_size(s)).total.minor
        for m in product.metals
        for s in offered_sizes(product)
    )
