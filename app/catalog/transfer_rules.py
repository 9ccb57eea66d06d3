"""The rules a catalogue file must keep, checked all at once so every problem is reported.

Each problem names the item (``products[3] (aurelia-crown).editions[1]``) and the rule it
breaks. The checks read the database (which metals exist, which editions have pieces that
are reserved or sold) but never change it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from app.catalog import editions as edition_service
from app.catalog.models import EditionRun, FitSize, Kind, Metal, Product, ProductStatus, Tier
from app.catalog.rates import MAX_RATE_MINOR
from app.domain.editions import EDITION_SIZES
from app.extensions import db

FORMAT = "diadem-catalogue/1"
MAX_MINOR = 2**31 - 1  # what an integer column holds


@dataclass(frozen=True)
class Problem:
    where: str
    rule: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}"


@dataclass(frozen=True)
class Rule:
    """One key of an item: its type, whether it must be there, and its bounds."""

    kind: str  # "text", "int", "date", "datetime", "list", "dict"
    required: bool = True
    low: int = 0
    high: int = MAX_MINOR
    max_len: int = 10_000
    nullable: bool = False


METAL_RULES = {
    "code": Rule("text", max_len=32),
    "name": Rule("text", max_len=60),
    "price_per_gram_minor": Rule("int", low=1, high=MAX_RATE_MINOR),
    "swatch": Rule("text", required=False, max_len=7),
    "position": Rule("int", required=False),
}
SIZE_RULES = {
    "code": Rule("text", max_len=8),
    "label": Rule("text", max_len=60),
    "min_circumference_mm": Rule("int", low=1),
    "max_circumference_mm": Rule("int", low=1),
    "adjustment_minor": Rule("int"),
    "metal_permille": Rule("int"),
    "position": Rule("int", required=False),
}
STONE_RULES = {
    "kind": Rule("text", max_len=60),
    "count": Rule("int", low=1),
    "unit_price_minor": Rule("int"),
    "origin": Rule("text", required=False, max_len=120),
    "treatment": Rule("text", required=False, max_len=120),
}
EDITION_RULES = {
    "batch_code": Rule("text", max_len=40),
    "metal": Rule("text", max_len=32),
    "size": Rule("int", low=1),
    "released_on": Rule("date", required=False, nullable=True),
    "sourcing_statement": Rule("text", required=False),
}
PRODUCT_RULES = {
    "slug": Rule("text", max_len=80),
    "name": Rule("text", max_len=120),
    "kind": Rule("text", max_len=16),
    "tier": Rule("text", max_len=16),
    "summary": Rule("text", required=False, max_len=300),
    "story": Rule("text", required=False),
    "materials": Rule("text", required=False),
    "origin": Rule("text", required=False),
    "finishing": Rule("text", required=False),
    "certification": Rule("text", required=False),
    "fit_notes": Rule("text", required=False),
    "status": Rule("text", required=False, max_len=16),
    "metal_weight_mg": Rule("int", low=1),
    "bench_minutes": Rule("int"),
    "labour_rate_per_hour_minor": Rule("int"),
    "provenance_minor": Rule("int"),
    "packaging_minor": Rule("int"),
    "shipping_minor": Rule("int"),
    "insurance_bp": Rule("int", high=10_000),
    "currency": Rule("text", required=False, max_len=3),
    "lead_time_weeks": Rule("int", required=False, nullable=True, low=1, high=520),
    "deposit_percent": Rule("int", required=False, nullable=True, low=1, high=100),
    "created_at": Rule("datetime", required=False, nullable=True),
    "default_metal": Rule("text", max_len=32),
    "metals": Rule("list"),
    "metal_weights_mg": Rule("dict", required=False),
    "sizes": Rule("list", required=False),
    "stones": Rule("list", required=False),
    "editions": Rule("list", required=False),
}
TEXT_KEYS_MAY_BE_EMPTY = {
    "summary",
    "story",
    "materials",
    "origin",
    "finishing",
    "certification",
    "fit_notes",
    "treatment",
    "sourcing_statement",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_value(key: str, value: Any, rule: Rule) -> str | None:
    """The rule ``value`` breaks, or None."""
    if value is None:
        return None if rule.nullable else f"{key} must not be null"
    if rule.kind == "int":
        if not _is_int(value):
            return f"{key} must be a whole number (integer minor units or counts), not {value!r}"
        if not rule.low <= value <= rule.high:
            return f"{key} {value} is not between {rule.low} and {rule.high}"
    elif rule.kind == "text":
        if not isinstance(value, str):
            return f"{key} must be text, not {value!r}"
        if not value.strip() and key not in TEXT_KEYS_MAY_BE_EMPTY:
            return f"{key} must not be empty"
        if len(value) > rule.max_len:
            return f"{key} is longer than {rule.max_len} characters"
    elif rule.kind == "list":
        if not isinstance(value, list):
            return f"{key} must be a list, not {value!r}"
    elif rule.kind == "dict":
        if not isinstance(value, dict):
            return f"{key} must be an object, not {value!r:.40}"
    elif rule.kind in ("date", "datetime"):
        parse = date.fromisoformat if rule.kind == "date" else datetime.fromisoformat
        try:
            parsed = parse(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            return f"{key} must be an ISO {rule.kind} such as 2026-01-15, not {value!r}"
        if isinstance(parsed, datetime) and parsed.tzinfo is not None:
            return f"{key} must be UTC without an offset, not {value!r}"
    return None


def _check_item(item: Any, rules: dict[str, Rule], where: str, problems: list[Problem]) -> bool:
    """Check one object's keys and types; return whether it is sound enough to look into."""
    if not isinstance(item, dict):
        problems.append(Problem(where, f"must be an object, not {item!r:.40}"))
        return False
    sound = True
    for key, rule in rules.items():
        if key not in item:
            if rule.required:
                problems.append(Problem(where, f"{key} is required"))
                sound = False
            continue
        broken = _check_value(key, item[key], rule)
        if broken:
            problems.append(Problem(where, broken))
            sound = False
    for key in item:
        if key not in rules:
            problems.append(Problem(where, f"unknown key {key!r:.40}"))
    return sound


def _label(name: str, index: int, item: Any, key: str) -> str:
    natural = item.get(key) if isinstance(item, dict) else None
    return f"{name}[{index}] ({natural})" if isinstance(natural, str) else f"{name}[{index}]"


def _duplicates(name: str, items: list[Any], key: str, what: str, problems: list[Problem]) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        value = item.get(key) if isinstance(item, dict) else None
        if not isinstance(value, str):
            continue
        if value in seen:
            problems.append(
                Problem(
                    _label(name, index, item, key),
                    f"duplicate {what} {value!r}, already used by {name}[{seen[value]}]",
                )
            )
        else:
            seen[value] = index


def validate(document: Any) -> list[Problem]:
    """Every problem of the document, or an empty list when it may be applied."""
    if not isinstance(document, dict):
        return [Problem("document", "must be a JSON object")]
    problems: list[Problem] = []
    if document.get("format") != FORMAT:
        problems.append(
            Problem("format", f"must be {FORMAT!r}, not {document.get('format')!r:.40}")
        )
    for key in document:
        if key not in ("format", "metals", "sizes", "products"):
            problems.append(Problem("document", f"unknown key {key!r:.40}"))
    for key, required in (("metals", True), ("sizes", False), ("products", True)):
        if key not in document:
            if required:
                problems.append(Problem("document", f"{key} is required"))
        elif not isinstance(document[key], list):
            problems.append(Problem(key, "must be a list"))
    metals = _list(document, "metals")
    sizes = _list(document, "sizes")
    products = _list(document, "products")
    for index, item in enumerate(metals):
        where = _label("metals", index, item, "code")
        if _check_item(item, METAL_RULES, where, problems):
            swatch = item.get("swatch", "#000000")
            if not re.fullmatch(r"#[0-9a-fA-F]{6}", swatch):
                problems.append(Problem(where, f"swatch {swatch!r} is not a colour like #c9a227"))
    _duplicates("metals", metals, "code", "metal code", problems)
    for index, item in enumerate(sizes):
        where = _label("sizes", index, item, "code")
        sound = _check_item(item, SIZE_RULES, where, problems)
        if sound and item["min_circumference_mm"] >= item["max_circumference_mm"]:
            problems.append(Problem(where, "min_circumference_mm must be below the maximum"))
    _duplicates("sizes", sizes, "code", "size code", problems)
    known_metals = {m["code"] for m in metals if isinstance(m, dict) and "code" in m}
    known_metals |= set(db.session.execute(select(Metal.code)).scalars())
    known_sizes = {
        s["code"] for s in sizes if isinstance(s, dict) and isinstance(s.get("code"), str)
    }
    known_sizes |= set(db.session.execute(select(FitSize.code)).scalars())
    for index, item in enumerate(products):
        _check_product(index, item, known_metals, problems)
        if isinstance(item, dict):
            _check_offer(item, _label("products", index, item, "slug"), known_sizes, problems)
    _duplicates("products", products, "slug", "slug", problems)
    editions = [
        (index, product_index, item)
        for product_index, product in enumerate(products)
        if isinstance(product, dict) and isinstance(product.get("editions"), list)
        for index, item in enumerate(product["editions"])
    ]
    _duplicate_batches(products, editions, problems)
    return problems


def _list(document: dict[str, Any], key: str) -> list[Any]:
    value = document.get(key, [])
    return value if isinstance(value, list) else []


def _check_product(index: int, item: Any, known_metals: set[str], problems: list[Problem]) -> None:
    where = _label("products", index, item, "slug")
    sound = _check_item(item, PRODUCT_RULES, where, problems)
    if not isinstance(item, dict):
        return
    if sound:
        _check_terms(item, where, problems)
    offered = item.get("metals") if isinstance(item.get("metals"), list) else []
    for code in offered:
        if not isinstance(code, str):
            problems.append(Problem(where, f"metals must list metal codes, not {code!r:.40}"))
        elif code not in known_metals:
            problems.append(Problem(where, f"metal {code!r} is not a known metal"))
    if isinstance(item.get("metals"), list) and not offered:
        problems.append(Problem(where, "metals must list at least one metal"))
    if len([c for c in offered if isinstance(c, str)]) != len(
        {c for c in offered if isinstance(c, str)}
    ):
        problems.append(Problem(where, "metals lists a metal twice"))
    default = item.get("default_metal")
    if isinstance(default, str) and default not in offered:
        problems.append(Problem(where, f"default_metal {default!r} is not one of its metals"))
    for stone_index, stone in enumerate(_list(item, "stones")):
        _check_item(stone, STONE_RULES, f"{where}.stones[{stone_index}]", problems)
    for edition_index, edition in enumerate(_list(item, "editions")):
        _check_edition(edition, f"{where}.editions[{edition_index}]", offered, problems)


def _check_offer(
    item: dict[str, Any], where: str, known_sizes: set[str], problems: list[Problem]
) -> None:
    """The product's status, the sizes it is offered in and its grams per metal."""
    status = item.get("status", ProductStatus.PUBLISHED.value)
    statuses = [s.value for s in ProductStatus]
    if isinstance(status, str) and status not in statuses:
        problems.append(Problem(where, f"status {status!r} is not one of {', '.join(statuses)}"))
    sizes = item.get("sizes") if isinstance(item.get("sizes"), list) else []
    for code in sizes:
        if not isinstance(code, str) or code not in known_sizes:
            problems.append(Problem(where, f"size {code!r:.40} is not a known size"))
    if len(set(map(repr, sizes))) != len(sizes):
        problems.append(Problem(where, "sizes lists a size twice"))
    weights = item.get("metal_weights_mg")
    offered = item.get("metals") if isinstance(item.get("metals"), list) else []
    for code, weight in weights.items() if isinstance(weights, dict) else ():
        if code not in offered:
            problems.append(
                Problem(where, f"metal_weights_mg names {code!r:.40}, not one of its metals")
            )
        elif not _is_int(weight) or not 1 <= weight <= MAX_MINOR:
            problems.append(
                Problem(where, f"metal_weights_mg[{code!r}] must be a positive whole number of mg")
            )


def _check_terms(item: dict[str, Any], where: str, problems: list[Problem]) -> None:
    kinds = [k.value for k in Kind]
    tiers = [t.value for t in Tier]
    if item["kind"] not in kinds:
        problems.append(Problem(where, f"kind {item['kind']!r} is not one of {', '.join(kinds)}"))
    if item["tier"] not in tiers:
        problems.append(Problem(where, f"tier {item['tier']!r} is not one of {', '.join(tiers)}"))
    if item["tier"] == Tier.CUSTOM.value and (
        item.get("lead_time_weeks") is None or item.get("deposit_percent") is None
    ):
        problems.append(Problem(where, "a custom piece needs lead_time_weeks and deposit_percent"))
    currency = item.get("currency", "USD")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        problems.append(Problem(where, f"currency {currency!r} is not a code such as USD"))


def _check_edition(item: Any, where: str, offered: list[Any], problems: list[Problem]) -> None:
    if not _check_item(item, EDITION_RULES, where, problems):
        return
    if item["size"] not in EDITION_SIZES:
        allowed = ", ".join(str(s) for s in EDITION_SIZES)
        problems.append(Problem(where, f"size {item['size']} is not one of {allowed}"))
    if item["metal"] not in offered:
        problems.append(
            Problem(where, f"metal {item['metal']!r} is not one of the product's metals")
        )


def _duplicate_batches(
    products: list[Any], editions: list[tuple[int, int, Any]], problems: list[Problem]
) -> None:
    """Batch codes are unique, stay with their product, and sold numbers never change."""
    existing = {
        run.batch_code: run
        for run in db.session.execute(select(EditionRun).join(Product)).scalars()
    }
    seen: dict[str, str] = {}
    for index, product_index, item in editions:
        product = products[product_index]
        where = f"{_label('products', product_index, product, 'slug')}.editions[{index}]"
        code = item.get("batch_code") if isinstance(item, dict) else None
        if not isinstance(code, str):
            continue
        if code in seen:
            problems.append(
                Problem(where, f"duplicate batch code {code!r}, already at {seen[code]}")
            )
            continue
        seen[code] = where
        run = existing.get(code)
        if run is not None:
            _check_existing_run(run, item, product.get("slug"), where, problems)


def _check_existing_run(
    run: EditionRun, item: dict[str, Any], slug: Any, where: str, problems: list[Problem]
) -> None:
    if run.product.slug != slug:
        problems.append(
            Problem(where, f"batch code {run.batch_code!r} belongs to {run.product.slug!r}")
        )
        return
    changes = []
    if _is_int(item.get("size")) and item["size"] != run.size:
        changes.append(f"size from {run.size} to {item['size']}")
    if isinstance(item.get("metal"), str) and item["metal"] != run.metal.code:
        changes.append(f"metal from {run.metal.code} to {item['metal']}")
    if not changes:
        return
    taken = edition_service.pieces_not_available(run_id=run.id)
    if taken or edition_service.pieces_referenced(run_id=run.id):
        problems.append(
            Problem(
                where,
                f"cannot change {' and '.join(changes)}: {taken} piece(s) of "
                f"{run.batch_code} are already reserved, sold or withheld, or on an order",
            )
        )
