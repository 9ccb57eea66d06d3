"""The product page's read model: what the page shows, as frozen values, kept per generation.

A product's text, pictures, metals, sizes and every price it is offered at change only when
staff change the catalogue or a rate, and each of those starts a new catalogue generation
(``caching.catalogue_changed``). So they are read and priced once per generation and kept in
the shared cache as plain frozen dataclasses: a page built from them loads no ORM object and
computes no price.

The free edition numbers change with every reservation and sale, and each of those starts a new
generation too (the services say so, and app.catalog.stock_watch catches any other write to a
piece). A reservation also lapses by the clock without writing anything, so the shop's free
stock is kept as one snapshot per generation that is good only until the earliest live
reservation ends (``StockSnapshot.valid_until``): after that the next page reads it afresh, in
one Core query. Checkout re-checks every piece under a row lock, so a page a moment behind a
sale elsewhere can never sell a number twice.

The values mirror the ORM attributes the product templates read (``product.name``,
``ed.run.metal.code``, ``priced.breakdown``), so the same templates render both this page and
staff's preview of a draft, which still reads the ORM (services.product_page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, select

from app.catalog import services
from app.catalog.filters import CatalogFilter
from app.catalog.models import (
    EditionRun,
    Metal,
    Piece,
    PieceStatus,
    Product,
    ProductImage,
    ProductStatus,
    piece_is_free,
    product_metals,
)
from app.catalog.services import UnknownOption
from app.common import caching
from app.domain import pricing
from app.domain.clock import utcnow
from app.domain.editions import format_piece_number
from app.extensions import db

# A product's page values are kept this long in a generation (any change starts a new one;
# this only bounds how long an unused entry takes room).
PAGE_MODEL_SECONDS = 300.0


@dataclass(frozen=True)
class MetalView:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class ImageView:
    path: str
    alt: str
    metal_id: int | None
    width: int | None
    height: int | None
    variants: tuple[Mapping[str, Any], ...] | None


@dataclass(frozen=True)
class StoneView:
    kind: str
    count: int
    origin: str
    treatment: str


class _TierFlags:
    """The ORM Product's tier questions, for the read model's product values."""

    tier: str

    @property
    def is_studio(self) -> bool:
        return self.tier == "studio"

    @property
    def is_custom(self) -> bool:
        return self.tier == "custom"


@dataclass(frozen=True)
class ProductView(_TierFlags):
    """A published or retired product as its page shows it (the ORM Product's names)."""

    id: int
    slug: str
    name: str
    kind: str
    tier: str
    status: str
    summary: str
    story: str
    materials: str
    origin: str
    finishing: str
    certification: str
    fit_notes: str
    currency: str
    list_price_minor: int
    deposit_percent: int | None
    lead_time_weeks: int | None
    bench_minutes: int
    has_tryon: bool
    default_metal: MetalView
    metals: tuple[MetalView, ...]
    images: tuple[ImageView, ...]
    stones: tuple[StoneView, ...]

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    @property
    def is_retired(self) -> bool:
        return self.status == "retired"


@dataclass(frozen=True)
class RunView:
    id: int
    batch_code: str
    size: int
    closed_at: datetime | None
    metal: MetalView


@dataclass(frozen=True)
class EditionView:
    """An edition run with the numbers free at the moment the page was asked for."""

    run: RunView
    available_numbers: tuple[int, ...]
    available_labels: tuple[str, ...] = ()  # the numbers as printed ("07/25"), same order

    @property
    def available(self) -> int:
        return len(self.available_numbers)


@dataclass(frozen=True)
class PricedView:
    metal: MetalView
    size: pricing.FitSize
    breakdown: pricing.Breakdown


@dataclass(frozen=True)
class ProductPageModel:
    """Everything on a product's page but its free numbers, priced in every offered option."""

    product: ProductView
    sizes: tuple[pricing.FitSize, ...]  # offered, smallest first
    all_size_codes: frozenset[str]
    runs: tuple[RunView, ...]
    prices: Mapping[tuple[str, str], pricing.Breakdown]  # (metal code, size code)

    def resolve(self, *, size_code: str | None, metal_code: str | None) -> PricedView:
        """The chosen option priced; UnknownOption (services' words) for one not offered."""
        metal, size = services.pick_options(
            name=self.product.name,
            sizes=self.sizes,
            metals=self.product.metals,
            default_metal=self.product.default_metal,
            known_size_codes=self.all_size_codes,
            size_code=size_code,
            metal_code=metal_code,
        )
        return PricedView(metal=metal, size=size, breakdown=self.prices[(metal.code, size.code)])


@dataclass(frozen=True)
class ProductPageView:
    """The page as shown now: the model, the chosen option and the free numbers."""

    product: ProductView
    priced: PricedView
    sizes: Sequence[pricing.FitSize]
    editions: list[EditionView]
    problem: str | None = None

    def context(self) -> dict[str, object]:
        return {
            "product": self.product,
            "priced": self.priced,
            "sizes": self.sizes,
            "editions": self.editions,
        }


def _metal_view(metal: Metal) -> MetalView:
    return MetalView(id=metal.id, code=metal.code, name=metal.name)


def _product_view(product: Product) -> ProductView:
    return ProductView(
        id=product.id,
        slug=product.slug,
        name=product.name,
        kind=product.kind,
        tier=product.tier,
        status=product.status,
        summary=product.summary,
        story=product.story,
        materials=product.materials,
        origin=product.origin,
        finishing=product.finishing,
        certification=product.certification,
        fit_notes=product.fit_notes,
        currency=product.currency,
        list_price_minor=product.list_price_minor,
        deposit_percent=product.deposit_percent,
        lead_time_weeks=product.lead_time_weeks,
        bench_minutes=product.bench_minutes,
        has_tryon=bool(product.has_tryon),
        default_metal=_metal_view(product.default_metal),
        metals=tuple(_metal_view(m) for m in product.metals),
        images=tuple(
            ImageView(
                path=i.path,
                alt=i.alt,
                metal_id=i.metal_id,
                width=i.width,
                height=i.height,
                variants=tuple(dict(v) for v in i.variants) if i.variants else None,
            )
            for i in product.images
        ),
        stones=tuple(
            StoneView(kind=s.kind, count=s.count, origin=s.origin, treatment=s.treatment)
            for s in product.stones
        ),
    )


def _runs(product_id: int) -> tuple[RunView, ...]:
    rows = db.session.execute(
        select(
            EditionRun.id,
            EditionRun.batch_code,
            EditionRun.size,
            EditionRun.closed_at,
            Metal.id,
            Metal.code,
            Metal.name,
        )
        .join(Metal, Metal.id == EditionRun.metal_id)
        .where(EditionRun.product_id == product_id)
        .order_by(EditionRun.id)
    ).all()
    return tuple(
        RunView(
            id=run_id,
            batch_code=code,
            size=size,
            closed_at=closed_at,
            metal=MetalView(id=metal_id, code=metal_code, name=metal_name),
        )
        for run_id, code, size, closed_at, metal_id, metal_code, metal_name in rows
    )


def load_page_model(slug: str) -> ProductPageModel | None:
    """Read and price a public product's page afresh (None: no such product, or a draft)."""
    try:
        product = services.get_product(slug)
    except services.ProductNotFound:
        return None
    sizes = services.offered_sizes(product)
    prices = {
        (metal.code, size.code): pricing.price_piece(
            services.bill_of_materials(product, metal),
            services.metal_rate(metal),
            services.fit_size(size),
        )
        for metal in product.metals
        for size in sizes
    }
    return ProductPageModel(
        product=_product_view(product),
        sizes=tuple(services.fit_size(s) for s in sizes),
        all_size_codes=frozenset(s.code for s in services.all_sizes()),
        runs=_runs(product.id) if product.is_studio else (),
        prices=prices,
    )


def page_model(slug: str) -> ProductPageModel | None:
    """The product's page model for this catalogue generation (read once per generation)."""
    if len(slug) > 80:  # longer than any slug: not worth a query, nor a cache entry
        return None
    return caching.remember(
        f"catalog:product-page:{slug}", lambda: load_page_model(slug), timeout=PAGE_MODEL_SECONDS
    )


# The free stock is kept at most this long in a generation (a write to any piece starts a new
# one, and a lapsing reservation ends the snapshot early).
STOCK_SECONDS = 300.0


@dataclass(frozen=True)
class StockSnapshot:
    """The numbers free in every edition run at one moment, and until when that holds."""

    free: Mapping[int, tuple[int, ...]]  # run id -> its free numbers, ascending
    labels: Mapping[int, tuple[str, ...]]  # run id -> the same numbers as printed ("07/25")
    free_by_product: Mapping[int, int]  # product id -> how many of its pieces are free
    # The end of the earliest reservation still live when it was taken: one more number is free
    # after it. None: no live reservation, so only a write (a new generation) changes it.
    valid_until: datetime | None

    def still_good(self) -> bool:
        return self.valid_until is None or utcnow() <= self.valid_until


EMPTY_STOCK = StockSnapshot(free={}, labels={}, free_by_product={}, valid_until=None)


def load_stock() -> StockSnapshot:
    """Read every run's free numbers and the next reservation to lapse (two Core queries)."""
    now = utcnow()
    rows = db.session.execute(
        select(
            Piece.run_id,
            EditionRun.product_id,
            EditionRun.size,
            func.aggregate_strings(cast(Piece.number, String), ","),
        )
        .join(EditionRun, EditionRun.id == Piece.run_id)
        .where(piece_is_free(now))
        .group_by(Piece.run_id, EditionRun.product_id, EditionRun.size)
    ).all()
    next_lapse = db.session.scalar(
        select(func.min(Piece.reserved_until)).where(
            Piece.status == PieceStatus.RESERVED.value, Piece.reserved_until >= now
        )
    )
    free = {run_id: services.parse_numbers(numbers) for run_id, _, _, numbers in rows}
    labels = {
        run_id: tuple(format_piece_number(n, size) for n in free[run_id])
        for run_id, _, size, _ in rows
    }
    by_product: dict[int, int] = {}
    for run_id, product_id, _, _ in rows:
        by_product[product_id] = by_product.get(product_id, 0) + len(free[run_id])
    return StockSnapshot(
        free=free, labels=labels, free_by_product=by_product, valid_until=next_lapse
    )


def stock() -> StockSnapshot:
    """The shop's free stock now: kept per generation until a reservation lapses."""
    return caching.remember(
        "catalog:stock", load_stock, timeout=STOCK_SECONDS, still_good=StockSnapshot.still_good
    )


def product_page(
    model: ProductPageModel, *, size_code: str | None = None, metal_code: str | None = None
) -> ProductPageView:
    """The page in the chosen options (the defaults, with the reason, for one not offered)."""
    problem = None
    try:
        priced = model.resolve(size_code=size_code, metal_code=metal_code)
    except UnknownOption as exc:
        problem = str(exc)
        priced = model.resolve(size_code=None, metal_code=None)
    snapshot = stock() if model.runs else EMPTY_STOCK  # a commission has no numbers to ask for
    return ProductPageView(
        product=model.product,
        priced=priced,
        sizes=model.sizes,
        editions=[
            EditionView(
                run=run,
                available_numbers=snapshot.free.get(run.id, ()),
                available_labels=snapshot.labels.get(run.id, ()),
            )
            for run in model.runs
        ],
        problem=problem,
    )


# --- the catalog's cards ---------------------------------------------------------------------

# The catalog's entries are kept this long in a generation (any change starts a new one).
CATALOG_SECONDS = 60.0


@dataclass(frozen=True)
class CardProduct(_TierFlags):
    """What a catalog card shows of a product (the ORM Product's names)."""

    id: int
    slug: str
    name: str
    kind: str
    tier: str
    currency: str
    list_price_minor: int
    created_at: datetime


@dataclass(frozen=True)
class CatalogEntry:
    """A published product as the catalog lists it, but for its free pieces."""

    product: CardProduct
    metal_codes: frozenset[str]
    image_path: str | None
    image_alt: str
    image_variants: tuple[Mapping[str, Any], ...] | None


@dataclass(frozen=True)
class CardView:
    """A card as shown now (services.ProductCard's names)."""

    product: CardProduct
    available: int
    metal_count: int
    image_path: str | None
    image_alt: str
    image_variants: tuple[Mapping[str, Any], ...] | None

    @property
    def in_stock(self) -> bool:
        return self.product.is_custom or self.available > 0


def load_catalog() -> tuple[CatalogEntry, ...]:
    """Every published product with its metals and first picture, in two Core queries."""
    first_image = (
        select(ProductImage.id)
        .where(ProductImage.product_id == Product.id)
        .order_by(ProductImage.position, ProductImage.id)
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            Product.id,
            Product.slug,
            Product.name,
            Product.kind,
            Product.tier,
            Product.currency,
            Product.list_price_minor,
            Product.created_at,
            ProductImage.path,
            ProductImage.alt,
            ProductImage.variants,
        )
        .outerjoin(ProductImage, ProductImage.id == first_image)
        .where(Product.status == ProductStatus.PUBLISHED.value)
    ).all()
    metals: dict[int, set[str]] = {}
    for product_id, code in db.session.execute(
        select(product_metals.c.product_id, Metal.code).join(
            Metal, Metal.id == product_metals.c.metal_id
        )
    ):
        metals.setdefault(product_id, set()).add(code)
    return tuple(
        CatalogEntry(
            product=CardProduct(*row[:8]),
            metal_codes=frozenset(metals.get(row[0], ())),
            image_path=row[8],
            image_alt=row[9] or "",
            image_variants=tuple(dict(v) for v in row[10]) if row[10] else None,
        )
        for row in rows
    )


def free_piece_counts() -> dict[int, int]:
    """How many numbered pieces of each product are free right now, by product id."""
    return dict(stock().free_by_product)


def _matches(entry: CatalogEntry, available: int, f: CatalogFilter) -> bool:
    p = entry.product
    return (
        (not f.kind or p.kind == f.kind)
        and (not f.tier or p.tier == f.tier)
        and (not f.metal or f.metal in entry.metal_codes)
        and (f.min_price_minor is None or p.list_price_minor >= f.min_price_minor)
        and (f.max_price_minor is None or p.list_price_minor <= f.max_price_minor)
        and (not f.available_only or p.is_custom or available > 0)
    )


def _ordered(cards: list[CardView], sort: str) -> list[CardView]:
    # The orders services.list_products asks SQL for, ties broken by id the same way.
    if sort == "newest":
        return sorted(cards, key=lambda c: (c.product.created_at, c.product.id), reverse=True)
    if sort == "price-desc":
        return sorted(cards, key=lambda c: (-c.product.list_price_minor, c.product.id))
    return sorted(cards, key=lambda c: (c.product.list_price_minor, c.product.id))


def catalog_cards(catalog_filter: CatalogFilter) -> list[CardView]:
    """The cards matching the filter, in its order: entries and free stock kept per generation."""
    entries = caching.remember("catalog:entries", load_catalog, timeout=CATALOG_SECONDS)
    counts = free_piece_counts()
    cards = [
        CardView(
            product=entry.product,
            available=counts.get(entry.product.id, 0),
            metal_count=len(entry.metal_codes),
            image_path=entry.image_path,
            image_alt=entry.image_alt,
            image_variants=entry.image_variants,
        )
        for entry in entries
        if _matches(entry, counts.get(entry.product.id, 0), catalog_filter)
    ]
    return _ordered(cards, catalog_filter.sort)
