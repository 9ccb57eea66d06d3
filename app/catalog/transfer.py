"""The catalogue as a file: export it as one JSON document, validate one, apply one.

``export_catalogue()`` reads, ``validate()`` lists every problem of a document (it reads the
database to know which metals exist and which editions have sold pieces), ``apply()`` validates
and then creates or changes metals, sizes, products and editions matched by their natural keys
(metal code, size code, slug, batch code). Nothing is ever deleted and pictures and try-on
overlays are not part of the file. Services never commit: the caller owns the transaction, so a
refused or failed import changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import g
from sqlalchemy import select, update

from app.catalog import editions as edition_service
from app.catalog import waitlist
from app.catalog.models import (
    EditionRun,
    FitSize,
    Metal,
    Product,
    ProductStatus,
    ProductStone,
    product_metals,
)
from app.catalog.rates import set_metal_rate
from app.catalog.services import refresh_list_price
from app.catalog.transfer_rules import FORMAT, Problem, validate
from app.common import caching
from app.common.locks import lock_row
from app.domain.clock import utcnow
from app.extensions import db

__all__ = [
    "FORMAT",
    "CatalogueRefused",
    "ImportReport",
    "Problem",
    "apply",
    "export_catalogue",
    "validate",
]

RATE_NOTE = "catalog import"


class CatalogueRefused(ValueError):
    """The document breaks the rules; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the catalogue file")
        self.problems = problems


@dataclass
class ImportReport:
    """What an import created, changed and left alone, as "metal yellow-gold" style labels."""

    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def anything_done(self) -> bool:
        return bool(self.created or self.changed)

    def note(self, label: str, *, before: Any, after: Any, new: bool = False) -> None:
        if new:
            self.created.append(label)
        elif before != after:
            self.changed.append(label)
        else:
            self.unchanged.append(label)


# --- export ---------------------------------------------------------------------------------


def _metal_doc(metal: Metal) -> dict[str, Any]:
    return {
        "code": metal.code,
        "name": metal.name,
        "price_per_gram_minor": metal.rate_per_gram_minor,
        "swatch": metal.swatch,
        "position": metal.position,
    }


def _size_doc(size: FitSize) -> dict[str, Any]:
    return {
        "code": size.code,
        "label": size.label,
        "min_circumference_mm": size.min_circumference_mm,
        "max_circumference_mm": size.max_circumference_mm,
        "adjustment_minor": size.adjustment_minor,
        "metal_permille": size.metal_permille,
        "position": size.position,
    }


def _stone_docs(product: Product) -> list[dict[str, Any]]:
    return [
        {
            "kind": s.kind,
            "count": s.count,
            "unit_price_minor": s.unit_price_minor,
            "origin": s.origin,
            "treatment": s.treatment,
        }
        for s in product.stones
    ]


def _edition_doc(run: EditionRun) -> dict[str, Any]:
    return {
        "batch_code": run.batch_code,
        "metal": run.metal.code,
        "size": run.size,
        "released_on": run.released_on.isoformat() if run.released_on else None,
        "sourcing_statement": run.sourcing_statement,
    }


# Product fields carried as they are, in the document's order.
PRODUCT_FIELDS = (
    "name",
    "kind",
    "tier",
    "summary",
    "story",
    "materials",
    "origin",
    "finishing",
    "certification",
    "fit_notes",
    "metal_weight_mg",
    "bench_minutes",
    "labour_rate_per_hour_minor",
    "provenance_minor",
    "packaging_minor",
    "shipping_minor",
    "insurance_bp",
    "currency",
    "lead_time_weeks",
    "deposit_percent",
)


def _product_fields(product: Product) -> dict[str, Any]:
    doc: dict[str, Any] = {"slug": product.slug}
    doc.update({name: getattr(product, name) for name in PRODUCT_FIELDS})
    doc["created_at"] = product.created_at.isoformat() if product.created_at else None
    doc["status"] = product.status
    doc["default_metal"] = product.default_metal.code
    doc["metals"] = [m.code for m in product.metals]
    doc["metal_weights_mg"] = _metal_weights(product)
    doc["sizes"] = [s.code for s in product.offered_sizes]
    doc["stones"] = _stone_docs(product)
    return doc


def _metal_weights(product: Product) -> dict[str, int]:
    """Grams (in mg) of each metal whose weight differs from the product's own figure."""
    rows = db.session.execute(
        select(Metal.code, product_metals.c.weight_mg)
        .join(product_metals, product_metals.c.metal_id == Metal.id)
        .where(product_metals.c.product_id == product.id, product_metals.c.weight_mg.is_not(None))
        .order_by(Metal.position, Metal.id)
    )
    return {code: weight for code, weight in rows}


def _set_metal_weights(product: Product, weights: dict[str, int], metals: dict[str, Metal]) -> None:
    for metal in product.metals:
        db.session.execute(
            update(product_metals)
            .where(
                product_metals.c.product_id == product.id,
                product_metals.c.metal_id == metals[metal.code].id,
            )
            .values(weight_mg=weights.get(metal.code))
        )


def _set_status(product: Product, status: str) -> None:
    """Publish or retire as the file says, dating the change as staff's buttons do."""
    if status == product.status:
        return
    product.status = status
    if status == ProductStatus.PUBLISHED.value:
        product.published_at = utcnow()
        product.retired_at = None
    elif status == ProductStatus.RETIRED.value:
        product.retired_at = utcnow()


def export_catalogue() -> dict[str, Any]:
    """The whole catalogue as one JSON-ready document (see the README's "Catalogue as a file")."""
    metals = db.session.execute(select(Metal).order_by(Metal.position, Metal.id)).scalars()
    sizes = db.session.execute(select(FitSize).order_by(FitSize.position, FitSize.id)).scalars()
    products = db.session.execute(select(Product).order_by(Product.id)).scalars()
    return {
        "format": FORMAT,
        "metals": [_metal_doc(m) for m in metals],
        "sizes": [_size_doc(s) for s in sizes],
        "products": [
            {**_product_fields(p), "editions": [_edition_doc(r) for r in p.runs]} for p in products
        ],
    }


# --- apply ----------------------------------------------------------------------------------


def apply(document: Any) -> ImportReport:
    """Validate the document, then create or change what differs; caller commits.

    Raises:
        CatalogueRefused: the document breaks a rule; nothing was changed.
    """
    problems = validate(document)
    if problems:
        raise CatalogueRefused(problems)
    report = ImportReport()
    metals = {m.code: m for m in db.session.execute(select(Metal)).scalars()}
    for item in document["metals"]:
        _apply_metal(item, metals, report)
    sizes_changed = False
    if "sizes" in document:
        sizes_changed = _apply_sizes(document["sizes"], report)
    products = {p.slug: p for p in db.session.execute(select(Product)).scalars()}
    runs = {r.batch_code: r for r in db.session.execute(select(EditionRun)).scalars()}
    sizes = {s.code: s for s in db.session.execute(select(FitSize)).scalars()}
    existing_runs = set(runs)
    for item in document["products"]:
        _apply_product(item, products, runs, metals, sizes, report)
    for code in sorted(set(runs) - existing_runs):
        _batch_opened(runs[code])
    if sizes_changed:
        for product in products.values():
            refresh_list_price(product)
    if report.anything_done:
        caching.catalogue_changed()
    return report


def _batch_opened(run: EditionRun) -> None:
    """A batch the import opened tells the design's waiting list, as staff's opening does.

    Once the whole file is applied, so a design the same file publishes is published by then;
    the product row is locked as open_batch locks it, so each entry is written to once.
    """
    lock_row(Product, run.product_id)
    waitlist.notify_waiting(run=run)


def _apply_metal(item: dict[str, Any], metals: dict[str, Metal], report: ImportReport) -> None:
    code = item["code"]
    metal = metals.get(code)
    if metal is None:
        metal = Metal(
            code=code,
            name=item["name"],
            rate_per_gram_minor=item["price_per_gram_minor"],
            swatch=item.get("swatch", "#c9a227"),
            position=item.get("position", len(metals)),
        )
        db.session.add(metal)
        db.session.flush()
        metals[code] = metal
        report.note(f"metal {code}", before=None, after=None, new=True)
        return
    before = _metal_doc(metal)
    metal.name = item["name"]
    metal.swatch = item.get("swatch", metal.swatch)
    metal.position = item.get("position", metal.position)
    rate = item["price_per_gram_minor"]
    if rate != metal.rate_per_gram_minor:
        # Through rates so the change is dated in the history and the catalogue is repriced.
        set_metal_rate(metal_code=code, rate_per_gram_minor=rate, by_user_id=None, note=RATE_NOTE)
        metals[code] = metal = db.session.execute(
            select(Metal).where(Metal.code == code)
        ).scalar_one()
    report.note(f"metal {code}", before=before, after=_metal_doc(metal))


def _apply_sizes(items: list[dict[str, Any]], report: ImportReport) -> bool:
    """Create or change fit sizes; return whether prices need recomputing."""
    sizes = {s.code: s for s in db.session.execute(select(FitSize)).scalars()}
    changed = False
    for item in items:
        size = sizes.get(item["code"])
        new = size is None
        if size is None:
            size = FitSize(code=item["code"], position=len(sizes))
            db.session.add(size)
            sizes[item["code"]] = size
        before = None if new else _size_doc(size)
        for name, value in item.items():
            setattr(size, name, value)
        db.session.flush()
        report.note(f"size {size.code}", before=before, after=_size_doc(size), new=new)
        changed = changed or new or before != _size_doc(size)
    if changed:
        g.pop("diadem_sizes", None)  # all_sizes() keeps them for the request
    return changed


def _apply_product(
    item: dict[str, Any],
    products: dict[str, Product],
    runs: dict[str, EditionRun],
    metals: dict[str, Metal],
    sizes: dict[str, FitSize],
    report: ImportReport,
) -> None:
    slug = item["slug"]
    product = products.get(slug)
    new = product is None
    before = None if product is None else _product_fields(product)
    if product is None:
        product = Product(slug=slug, created_at=utcnow(), summary="", story="", status="draft")
        db.session.add(product)
        products[slug] = product
    for name in PRODUCT_FIELDS:
        if name in item:
            setattr(product, name, item[name])
    if "created_at" in item and item["created_at"] is not None:
        product.created_at = datetime.fromisoformat(item["created_at"])
    # A new product without a status is on sale, as every product was before there were any.
    _set_status(
        product, item.get("status", ProductStatus.PUBLISHED.value if new else product.status)
    )
    product.default_metal = metals[item["default_metal"]]
    if {m.code for m in product.metals} != set(item["metals"]) or new:
        product.metals = [metals[code] for code in item["metals"]]
    if "sizes" in item and [s.code for s in product.offered_sizes] != item["sizes"]:
        product.offered_sizes = [sizes[code] for code in item["sizes"]]
    if "metal_weights_mg" in item:
        db.session.flush()  # the product_metals rows exist before their weights are set
        _set_metal_weights(product, item["metal_weights_mg"], metals)
    if "stones" in item and (new or _stone_docs(product) != _normalised_stones(item["stones"])):
        product.stones = [
            ProductStone(
                kind=s["kind"],
                count=s["count"],
                unit_price_minor=s["unit_price_minor"],
                origin=s.get("origin", ""),
                treatment=s.get("treatment", ""),
                position=position,
            )
            for position, s in enumerate(item["stones"])
        ]
    db.session.flush()
    after = _product_fields(product)
    report.note(f"product {slug}", before=before, after=after, new=new)
    if new or before != after:
        refresh_list_price(product)
    for edition in item.get("editions", []):
        _apply_edition(edition, product, runs, metals, report)


def _normalised_stones(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**s, "origin": s.get("origin", ""), "treatment": s.get("treatment", "")} for s in items
    ]


def _apply_edition(
    item: dict[str, Any],
    product: Product,
    runs: dict[str, EditionRun],
    metals: dict[str, Metal],
    report: ImportReport,
) -> None:
    code = item["batch_code"]
    released_on = item.get("released_on")
    run = runs.get(code)
    label = f"edition {code}"
    if run is None:
        runs[code] = edition_service.release_edition(
            product=product,
            metal=metals[item["metal"]],
            batch_code=code,
            size=item["size"],
            released_on=date.fromisoformat(released_on) if released_on else None,
        )
        runs[code].sourcing_statement = item.get("sourcing_statement", "")
        report.note(label, before=None, after=None, new=True)
        return
    before = _edition_doc(run)
    changing = (run.metal.code, run.size) != (item["metal"], item["size"])
    # validate() checked without locks; a piece may have been reserved since.
    if changing and edition_service.lock_pieces_not_available(run_id=run.id):
        rule = "its pieces were reserved or sold while the file was checked"
        raise CatalogueRefused([Problem(f"edition {code}", rule)])
    if run.metal.code != item["metal"]:
        run.metal = metals[item["metal"]]
    if run.size != item["size"]:
        edition_service.resize_edition(edition=run, size=item["size"])
    if "released_on" in item:
        run.released_on = date.fromisoformat(released_on) if released_on else None
    if "sourcing_statement" in item:
        run.sourcing_statement = item["sourcing_statement"]
    db.session.flush()
    report.note(label, before=before, after=_edition_doc(run))
