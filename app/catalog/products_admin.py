"""Staff's products: create, edit, publish and retire, and the rules a product keeps.

A product's life is one table (``TRANSITIONS``): a new product is a **draft**, seen only in
staff's preview; publishing puts it on sale and dates it; retiring takes it off sale but keeps
its page for old orders, passports and links; a retired product may be published again.

Once a product has been published its slug (its address) and tier stay as they are, so links,
orders and passports keep meaning what they meant. A metal with an edition run cannot be
dropped from the product: its numbered pieces would have no price.

Every change that guests can see (anything but a draft) tells the page cache after the commit
(``caching.catalogue_changed``). Services never commit; the view owns the transaction.

Lock order: the product row (``lock_row``), then its stones, metals and sizes.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError

from app.catalog import services
from app.catalog.models import (
    EditionRun,
    FitSize,
    Kind,
    Metal,
    Product,
    ProductStatus,
    ProductStone,
    Tier,
    product_metals,
)
from app.common import caching
from app.common.locks import lock_row
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_LENGTH = 80
NAME_LENGTH = 120
SUMMARY_LENGTH = 300
TEXT_LENGTH = 10_000
STONE_KIND_LENGTH = 60
STONE_TEXT_LENGTH = 120
MAX_STONE_ROWS = 30
MAX_STONE_COUNT = 10_000
# Bounds for typing slips, not for the atelier's ambitions.
MAX_WEIGHT_MG = 10_000_000  # 10 kg of metal
MAX_BENCH_MINUTES = 60 * 2_000
MAX_AMOUNT_MINOR = 100_000_000  # 1,000,000.00
MAX_LEAD_TIME_WEEKS = 104

TEXT_FIELDS = ("story", "materials", "origin", "finishing", "certification", "fit_notes")
TEXT_LABELS = {
    "story": "Story",
    "materials": "Materials",
    "origin": "Origin",
    "finishing": "Hand-finishing notes",
    "certification": "Certification",
    "fit_notes": "Fit adjustments",
}
AMOUNT_LABELS = {
    "labour_rate_per_hour_minor": "Labour rate per hour",
    "provenance_minor": "Provenance and certification",
    "packaging_minor": "Packaging",
    "shipping_minor": "Shipping",
}


class ProductAction(enum.StrEnum):
    PUBLISH = "publish"
    RETIRE = "retire"


# (status, action) -> the status it leads to; anything else is refused.
TRANSITIONS: dict[tuple[ProductStatus, ProductAction], ProductStatus] = {
    (ProductStatus.DRAFT, ProductAction.PUBLISH): ProductStatus.PUBLISHED,
    (ProductStatus.RETIRED, ProductAction.PUBLISH): ProductStatus.PUBLISHED,
    (ProductStatus.PUBLISHED, ProductAction.RETIRE): ProductStatus.RETIRED,
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the details: which field (and row, for stones and metals), and why.

    The message names the field, so it reads on its own in a list of problems.
    """

    field: str
    message: str
    row: int | None = None  # the stone or metal row (0-based) the problem is in
    part: str | None = None  # which of the row's figures: "kind", "count", "unit_price"...


class ProductError(Exception):
    """The product operation cannot be done; the message is for people."""

    def __init__(self, message: str, *, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class ProductNotFound(ProductError):
    pass


@dataclass(frozen=True)
class StoneLine:
    kind: str
    count: int | None
    unit_price_minor: int | None
    origin: str = ""
    treatment: str = ""


@dataclass(frozen=True)
class MetalOffer:
    code: str
    weight_mg: int | None = None  # None: the product's own metal_weight_mg


@dataclass(frozen=True, kw_only=True)
class ProductDetails:
    """Everything staff set on a product (amounts in minor units, weights in milligrams)."""

    name: str
    slug: str
    kind: str
    tier: str
    summary: str = ""
    story: str = ""
    materials: str = ""
    origin: str = ""
    finishing: str = ""
    certification: str = ""
    fit_notes: str = ""
    metal_weight_mg: int | None = None
    bench_minutes: int | None = None
    labour_rate_per_hour_minor: int | None = None
    provenance_minor: int | None = None
    packaging_minor: int | None = None
    shipping_minor: int | None = None
    insurance_bp: int | None = None
    lead_time_weeks: int | None = None  # custom commissions only
    deposit_percent: int | None = None  # custom commissions only
    default_metal: str = ""
    metals: tuple[MetalOffer, ...] = ()
    size_codes: tuple[str, ...] = ()  # none: every size
    stones: tuple[StoneLine, ...] = ()


@dataclass(frozen=True)
class ProductRow:
    """One line of staff's product list."""

    product: Product
    edition_runs: int

    @property
    def awaits_edition(self) -> bool:
        """A studio piece with no edition run: its page shows no numbers and sells nothing."""
        return self.product.is_studio and self.edition_runs == 0


@dataclass(frozen=True)
class StatusChanged:
    product: Product
    note: str = ""  # something staff should know (no edition run yet)


# --- reading -------------------------------------------------------------------------------


def product_rows() -> list[ProductRow]:
    """Every product with its edition-run count: drafts first, then on sale, then retired."""
    runs = (
        select(func.count(EditionRun.id))
        .where(EditionRun.product_id == Product.id)
        .correlate(Product)
        .scalar_subquery()
    )
    order = case(
        {ProductStatus.DRAFT.value: 0, ProductStatus.PUBLISHED.value: 1},
        value=Product.status,
        else_=2,
    )
    rows = db.session.execute(select(Product, runs).order_by(order, Product.name, Product.id))
    return [ProductRow(product=p, edition_runs=n) for p, n in rows]


def get_product(product_id: int) -> Product:
    """The product, whatever its status; ProductNotFound if there is none."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise ProductNotFound("There is no such product.")
    return product


def product_for_preview(product_id: int) -> Product:
    """The product loaded as its public page loads it, drafts included."""
    return services.get_product(get_product(product_id).slug, include_drafts=True)


def details_of(product: Product) -> ProductDetails:
    """The product's details as the edit form starts from them."""
    weights = services.load_product_options(product).metal_weights_mg
    return ProductDetails(
        name=product.name,
        slug=product.slug,
        kind=product.kind,
        tier=product.tier,
        summary=product.summary,
        **{name: getattr(product, name) for name in TEXT_FIELDS},
        metal_weight_mg=product.metal_weight_mg,
        bench_minutes=product.bench_minutes,
        labour_rate_per_hour_minor=product.labour_rate_per_hour_minor,
        provenance_minor=product.provenance_minor,
        packaging_minor=product.packaging_minor,
        shipping_minor=product.shipping_minor,
        insurance_bp=product.insurance_bp,
        lead_time_weeks=product.lead_time_weeks,
        deposit_percent=product.deposit_percent,
        default_metal=product.default_metal.code,
        metals=tuple(MetalOffer(m.code, weights.get(m.id)) for m in product.metals),
        size_codes=tuple(s.code for s in product.offered_sizes),
        stones=tuple(
            StoneLine(s.kind, s.count, s.unit_price_minor, s.origin, s.treatment)
            for s in product.stones
        ),
    )


# --- checking ------------------------------------------------------------------------------


def _amount_problem(name: str, label: str, value: int | None, maximum: int) -> Problem | None:
    if value is None:
        return Problem(name, f"{label} is required.")
    if value < 0:
        return Problem(name, f"{label} cannot be negative.")
    if value > maximum:
        return Problem(name, f"{label} is far too large; check the figure.")
    return None


def _text_problems(details: ProductDetails) -> list[Problem]:
    problems = []
    name = details.name.strip()
    if not name:
        problems.append(Problem("name", "Name is required."))
    elif len(name) > NAME_LENGTH:
        problems.append(Problem("name", f"Name can be at most {NAME_LENGTH} characters."))
    if len(details.summary.strip()) > SUMMARY_LENGTH:
        problems.append(Problem("summary", f"Summary can be at most {SUMMARY_LENGTH} characters."))
    for text_field in TEXT_FIELDS:
        if len(getattr(details, text_field)) > TEXT_LENGTH:
            label = TEXT_LABELS[text_field]
            problems.append(
                Problem(text_field, f"{label} can be at most {TEXT_LENGTH:,} characters.")
            )
    return problems


def _slug_problems(details: ProductDetails, product: Product | None) -> list[Problem]:
    slug = details.slug.strip()
    if product is not None and slug != product.slug and product.published_at is not None:
        return [
            Problem(
                "slug",
                f"Slug cannot change once the piece has been published: links, orders and "
                f"passports use /shop/{product.slug}.",
            )
        ]
    if not slug:
        return [Problem("slug", "Slug is required (e.g. aurelia-crown).")]
    if len(slug) > SLUG_LENGTH:
        return [Problem("slug", f"Slug can be at most {SLUG_LENGTH} characters.")]
    if not SLUG_PATTERN.fullmatch(slug):
        return [
            Problem(
                "slug",
                "Slug may use only lowercase letters, digits and single hyphens between them "
                "(e.g. aurelia-crown).",
            )
        ]
    taken = db.session.execute(
        select(Product.id).where(
            Product.slug == slug, Product.id != (product.id if product else -1)
        )
    ).first()
    if taken:
        return [Problem("slug", f"Slug {slug!r} is already used by another product.")]
    return []


def _kind_tier_problems(details: ProductDetails, product: Product | None) -> list[Problem]:
    problems = []
    if details.kind not in {k.value for k in Kind}:
        problems.append(Problem("kind", "Kind must be a crown or a tiara."))
    if details.tier not in {t.value for t in Tier}:
        problems.append(Problem("tier", "Tier must be a studio edition or a custom commission."))
    elif (
        product is not None
        and details.tier != product.tier
        and (product.published_at is not None or product.runs)
    ):
        problems.append(
            Problem(
                "tier",
                "Tier cannot change once the piece has been published or has an "
                "edition run: orders and editions depend on it.",
            )
        )
    if details.tier == Tier.CUSTOM.value:
        weeks, deposit = details.lead_time_weeks, details.deposit_percent
        if weeks is None or not 1 <= weeks <= MAX_LEAD_TIME_WEEKS:
            problems.append(
                Problem(
                    "lead_time_weeks",
                    f"Lead time (weeks) is required for a custom commission: "
                    f"1 to {MAX_LEAD_TIME_WEEKS} weeks.",
                )
            )
        if deposit is None or not 1 <= deposit <= 100:
            problems.append(
                Problem(
                    "deposit_percent",
                    "Deposit (%) is required for a custom commission: 1 to 100.",
                )
            )
    return problems


def _figure_problems(details: ProductDetails) -> list[Problem]:
    problems = []
    weight = details.metal_weight_mg
    if weight is None:
        problems.append(Problem("metal_weight_mg", "Metal weight is required."))
    elif not 0 < weight <= MAX_WEIGHT_MG:
        problems.append(
            Problem("metal_weight_mg", "Metal weight must be more than 0 g and at most 10 kg.")
        )
    bench = _amount_problem("bench_minutes", "Bench time", details.bench_minutes, MAX_BENCH_MINUTES)
    problems += [bench] if bench else []
    for name, label in AMOUNT_LABELS.items():
        problem = _amount_problem(name, label, getattr(details, name), MAX_AMOUNT_MINOR)
        problems += [problem] if problem else []
    insurance = details.insurance_bp
    if insurance is None:
        problems.append(Problem("insurance_bp", "Insurance is required (0 for none)."))
    elif not 0 <= insurance <= 10_000:
        problems.append(Problem("insurance_bp", "Insurance must be between 0 % and 100 %."))
    return problems


def _metal_problems(
    details: ProductDetails, product: Product | None, metals: dict[str, Metal]
) -> list[Problem]:
    problems = []
    offered = [offer.code for offer in details.metals]
    if not offered:
        problems.append(Problem("metals", "Metals offered: choose at least one metal."))
    for row, offer in enumerate(details.metals):
        metal = metals.get(offer.code)
        if metal is None:
            problems.append(
                Problem("metals", f"Metals offered: unknown metal {offer.code[:32]!r}.")
            )
            continue
        if offered.count(offer.code) > 1:
            problems.append(Problem("metals", f"Metals offered: {metal.name} is listed twice."))
        if offer.weight_mg is not None and not 0 < offer.weight_mg <= MAX_WEIGHT_MG:
            problems.append(
                Problem(
                    "metals",
                    f"Grams of {metal.name} must be more than 0 g and at most 10 kg "
                    "(leave it empty to use the product's metal weight).",
                    row=row,
                    part="grams",
                )
            )
    if details.default_metal not in offered:
        problems.append(
            Problem("default_metal", "Default metal must be one of the metals offered.")
        )
    if product is not None:
        run_metals = {run.metal.code: run for run in product.runs}
        for code, run in sorted(run_metals.items()):
            if code not in offered:
                problems.append(
                    Problem(
                        "metals",
                        f"Metals offered: {run.metal.name} cannot be dropped; edition run "
                        f"{run.batch_code} is made in it.",
                    )
                )
    return problems


def _size_problems(details: ProductDetails, sizes: dict[str, FitSize]) -> list[Problem]:
    unknown = [code for code in details.size_codes if code not in sizes]
    if unknown:
        return [Problem("sizes", f"Sizes offered: unknown size {unknown[0][:8]!r}.")]
    return []


def _stone_problems(details: ProductDetails) -> list[Problem]:
    if len(details.stones) > MAX_STONE_ROWS:
        return [Problem("stones", f"Stones: at most {MAX_STONE_ROWS} kinds of stone.")]
    problems = []
    for row, stone in enumerate(details.stones):
        label = f"Stone {row + 1}"

        def problem(part: str, message: str, row: int = row, label: str = label) -> None:
            problems.append(Problem("stones", f"{label} {message}", row=row, part=part))

        kind = stone.kind.strip()
        if not kind:
            problem("kind", "kind is required (e.g. diamond).")
        elif len(kind) > STONE_KIND_LENGTH:
            problem("kind", f"kind can be at most {STONE_KIND_LENGTH} characters.")
        if stone.count is None or not 1 <= stone.count <= MAX_STONE_COUNT:
            problem("count", f"count must be 1 to {MAX_STONE_COUNT:,}.")
        price = stone.unit_price_minor
        if price is None:
            problem("unit_price", "unit price is required (0 for stones that cost nothing).")
        elif not 0 <= price <= MAX_AMOUNT_MINOR:
            problem("unit_price", "unit price must be 0 or more, and not absurdly large.")
        for part, text in (("origin", stone.origin), ("treatment", stone.treatment)):
            if len(text.strip()) > STONE_TEXT_LENGTH:
                problem(part, f"{part} can be at most {STONE_TEXT_LENGTH} characters.")
    return problems


def _reference_data() -> tuple[dict[str, Metal], dict[str, FitSize]]:
    metals = {m.code: m for m in services.all_metals()}
    return metals, {s.code: s for s in services.all_sizes()}


def check_details(details: ProductDetails, *, product: Product | None = None) -> list[Problem]:
    """Every problem with these details, for a new product or for ``product``."""
    metals, sizes = _reference_data()
    return [
        *_text_problems(details),
        *_slug_problems(details, product),
        *_kind_tier_problems(details, product),
        *_figure_problems(details),
        *_metal_problems(details, product, metals),
        *_size_problems(details, sizes),
        *_stone_problems(details),
    ]


def _refuse(problems: list[Problem]) -> ProductError:
    count = len(problems)
    summary = "; ".join(p.message for p in problems[:3])
    more = f" (and {count - 3} more)" if count > 3 else ""
    return ProductError(f"The product was not saved: {summary}{more}", problems=tuple(problems))


# --- writing -------------------------------------------------------------------------------


def _apply(product: Product, details: ProductDetails) -> None:
    metals, sizes = _reference_data()
    custom = details.tier == Tier.CUSTOM.value
    product.name = details.name.strip()
    product.slug = details.slug.strip()
    product.kind = details.kind
    product.tier = details.tier
    product.summary = details.summary.strip()
    for name in TEXT_FIELDS:
        setattr(product, name, getattr(details, name).strip())
    product.metal_weight_mg = details.metal_weight_mg
    product.bench_minutes = details.bench_minutes
    product.labour_rate_per_hour_minor = details.labour_rate_per_hour_minor
    product.provenance_minor = details.provenance_minor
    product.packaging_minor = details.packaging_minor
    product.shipping_minor = details.shipping_minor
    product.insurance_bp = details.insurance_bp
    # Lead time and deposit are a commission's terms; a studio edition ships from stock.
    product.lead_time_weeks = details.lead_time_weeks if custom else None
    product.deposit_percent = details.deposit_percent if custom else None
    product.default_metal = metals[details.default_metal]
    product.metals = [metals[offer.code] for offer in details.metals]
    product.offered_sizes = [sizes[code] for code in sorted(set(details.size_codes))]
    product.stones = [
        ProductStone(
            kind=stone.kind.strip(),
            count=stone.count,
            unit_price_minor=stone.unit_price_minor,
            origin=stone.origin.strip(),
            treatment=stone.treatment.strip(),
            position=position,
        )
        for position, stone in enumerate(details.stones)
    ]


def _save(product: Product, details: ProductDetails) -> None:
    """Flush the product and its grams per metal; reprice it."""
    try:
        with atomic():  # a savepoint: another product may take the slug first
            db.session.add(product)
            db.session.flush()
    except IntegrityError as exc:
        if "slug" not in str(exc.orig):
            raise
        raise ProductError(
            f"Slug {product.slug!r} was just taken by another product; choose another.",
            problems=(Problem("slug", f"Slug {product.slug!r} is already used."),),
        ) from exc
    metals = {m.code: m.id for m in product.metals}
    for offer in details.metals:
        db.session.execute(
            update(product_metals)
            .where(
                product_metals.c.product_id == product.id,
                product_metals.c.metal_id == metals[offer.code],
            )
            .values(weight_mg=offer.weight_mg)
        )
    services.forget_product_options(product.id)
    services.refresh_list_price(product)


def create_product(*, details: ProductDetails) -> Product:
    """Create a product as a draft (not in the shop until published); ProductError if invalid."""
    problems = check_details(details)
    if problems:
        raise _refuse(problems)
    product = Product(status=ProductStatus.DRAFT.value)
    _apply(product, details)
    _save(product, details)
    return product


def update_product(*, product_id: int, details: ProductDetails) -> Product:
    """Change a product's details and reprice it; ProductError if invalid."""
    product = lock_row(Product, product_id)
    if product is None:
        raise ProductNotFound("There is no such product.")
    problems = check_details(details, product=product)
    if problems:
        raise _refuse(problems)
    _apply(product, details)
    _save(product, details)
    if product.status != ProductStatus.DRAFT.value:
        caching.catalogue_changed()
    return product


# Why an action is refused, by the status the product is in.
REFUSALS: dict[tuple[ProductStatus, ProductAction], str] = {
    (ProductStatus.PUBLISHED, ProductAction.PUBLISH): "{name} is already published.",
    (ProductStatus.DRAFT, ProductAction.RETIRE): (
        "{name} is a draft: it is not on sale, so there is nothing to retire."
    ),
    (ProductStatus.RETIRED, ProductAction.RETIRE): "{name} is already retired.",
}


def _transition(product_id: int, action: ProductAction) -> Product:
    product = lock_row(Product, product_id)
    if product is None:
        raise ProductNotFound("There is no such product.")
    current = ProductStatus(product.status)
    target = TRANSITIONS.get((current, action))
    if target is None:
        refusal = REFUSALS.get((current, action), "{name} cannot be changed that way.")
        raise ProductError(refusal.format(name=product.name))
    product.status = target.value
    return product


def publish_product(*, product_id: int) -> StatusChanged:
    """Put the product on sale (a draft, or a retired product again) and date it."""
    product = _transition(product_id, ProductAction.PUBLISH)
    product.published_at = utcnow()
    product.retired_at = None
    caching.catalogue_changed()
    note = ""
    if product.is_studio and not product.runs:
        note = (
            f"{product.name} has no edition run yet: its page shows no numbers and nothing "
            "can be bought until one is released."
        )
    return StatusChanged(product=product, note=note)


def retire_product(*, product_id: int) -> StatusChanged:
    """Take the product off sale; its page stays (without buttons) for owners and old links."""
    product = _transition(product_id, ProductAction.RETIRE)
    product.retired_at = utcnow()
    caching.catalogue_changed()
    return StatusChanged(product=product)
