"""The atelier's rates: set one, keep the dated history, reprice the catalogue.

One table of rates prices every breakdown: a metal's price per gram, a stone kind's price per
stone, the bench's hourly rate, the certification and provenance fee, and the insured shipping
rules (a flat courier charge and insurance as a share of the piece's value). Metals live in
their own table; the others are kept on every product (and its stones), so setting one writes
it on all of them: the admin sets one rate and the catalogue follows.

Breakdowns are priced live from these figures, so a change reprices every product at once;
each product's "from" price (the catalogue's sort and filter column) is recomputed in the same
transaction, and every server's page cache is told after the commit. Orders keep the breakdown
frozen at purchase and never change.

Lock order: the rates' name lock (one change at a time, so a history row's "from" is what the
previous change set), then products by id, then their stones.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.catalog.models import (
    Metal,
    MetalRateChange,
    Product,
    ProductStone,
    RateChange,
    product_metals,
)
from app.catalog.services import refresh_list_price
from app.common import caching
from app.common.locks import lock_names, lock_row, lock_rows
from app.domain.clock import utcnow
from app.domain.money import Money, format_money, major_text, parse_major
from app.domain.scheduling import to_local
from app.extensions import db

# A gram of platinum is some hundreds of minor units; this bounds typing slips, not markets.
MAX_RATE_MINOR = 10_000_000
RATES_LOCK = "catalog:rates"
NOTE_LENGTH = 200
# Where products disagreed before a change, its history row keeps the lowest figure as its
# "from" and the whole spread at the head of its note, in these words.
SPREAD = "Was {spread} across products."
_SPREAD = re.compile(r"Was (?P<spread>.+?) across products\.\s*")
STONE_KIND_LENGTH = 60


class RateError(ValueError):
    """The rate cannot be set; the message is for people."""


class RateKind(enum.StrEnum):
    """What one row of the rates table prices."""

    METAL = "metal"
    STONE = "stone"
    BENCH = "bench"
    CERTIFICATION = "certification"
    SHIPPING = "shipping"
    INSURANCE = "insurance"


@dataclass(frozen=True)
class RateRule:
    """How a kind of rate is named, entered and bounded."""

    kind: RateKind
    name: str  # the row's name; metals and stones are named by their metal or stone kind
    per: str  # "a gram", "an hour", "of the piece's value"
    low: int  # the least it may be (minor units, or basis points for a percentage)
    high: int
    column: str = ""  # the Product column it sets, for the shop-wide rates
    percent: bool = False  # entered and shown as a percentage with two decimals (basis points)


RULES: dict[RateKind, RateRule] = {
    rule.kind: rule
    for rule in (
        RateRule(RateKind.METAL, "Metal", "a gram", 1, MAX_RATE_MINOR),
        RateRule(RateKind.STONE, "Stone", "a stone", 1, 100_000_000),
        RateRule(
            RateKind.BENCH,
            "Bench hourly rate",
            "an hour",
            1,
            1_000_000,
            "labour_rate_per_hour_minor",
        ),
        RateRule(
            RateKind.CERTIFICATION,
            "Certification and provenance fee",
            "a piece",
            0,
            10_000_000,
            "provenance_minor",
        ),
        RateRule(
            RateKind.SHIPPING, "Flat shipping charge", "a piece", 0, 1_000_000, "shipping_minor"
        ),
        RateRule(
            RateKind.INSURANCE,
            "Shipping insurance",
            "of the piece's value",
            0,
            10_000,
            "insurance_bp",
            percent=True,
        ),
    )
}


def format_value(kind: RateKind, value: int) -> str:
    """A rate for people: money, or basis points as a percentage with two decimals."""
    if RULES[kind].percent:
        whole, hundredths = divmod(value, 100)
        return f"{whole}.{hundredths:02d} %"
    return format_money(Money(value))


def input_text(kind: RateKind, value: int) -> str:
    """A rate as typed into its form field ("95.00", "1.50")."""
    if RULES[kind].percent:
        whole, hundredths = divmod(value, 100)
        return f"{whole}.{hundredths:02d}"
    return major_text(Money(value))


def parse_percent(text: str) -> int:
    """Parse a percentage with at most two decimals ("1.25", "1.25 %") into basis points.

    Exact decimal arithmetic, never floats; ValueError when malformed.
    """
    cleaned = text.strip().removesuffix("%").strip()
    try:
        value = Decimal(cleaned)
    except Exception as exc:  # decimal.InvalidOperation and friends
        raise ValueError(f"{text[:40]!r} is not a percentage") from exc
    if not value.is_finite():
        raise ValueError(f"{text[:40]!r} is not a percentage")
    if value and value.adjusted() >= 6:
        raise ValueError(f"{text[:40]!r} is far too large a percentage")
    scaled = value.scaleb(2)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text[:40]!r} has more than 2 decimal places")
    return int(scaled)


def parse_value(kind: RateKind, text: str, *, code: str = "") -> int:
    """Parse what an admin typed for a rate into minor units (basis points for a percentage).

    Raises RateError naming the rate when the text is not an amount.
    """
    try:
        return parse_percent(text) if RULES[kind].percent else parse_major(text).minor
    except ValueError as exc:
        raise RateError(f"{rate_title(kind, code)}: {exc}.") from exc


def stone_key(kind: str) -> str:
    """The stone kind that rates are set by: stone kinds compare case-insensitively."""
    return " ".join(kind.split()).casefold()


def _display(name: str) -> str:
    """A name as a row heading: its first letter capitalised, the rest as written."""
    return name[:1].upper() + name[1:]


def rate_title(kind: RateKind, code: str = "") -> str:
    """The rate in words for a message, e.g. "Yellow Gold's price per gram"."""
    if kind is RateKind.METAL:
        name = db.session.execute(select(Metal.name).where(Metal.code == code)).scalar()
        return f"{name}'s price per gram" if name else "The price per gram"
    if kind is RateKind.STONE:
        entry = _stone_kinds().get(stone_key(code))
        name = entry.name if entry else " ".join(code.split())[:STONE_KIND_LENGTH]
        return f"{_display(name)}'s price per stone" if name else "The price per stone"
    return {
        RateKind.BENCH: "The bench hourly rate",
        RateKind.CERTIFICATION: "The certification and provenance fee",
        RateKind.SHIPPING: "The flat shipping charge",
        RateKind.INSURANCE: "The shipping insurance",
    }[kind]


def _check_range(kind: RateKind, value: int, *, title: str) -> None:
    rule = RULES[kind]
    if isinstance(value, bool) or not isinstance(value, int):
        raise RateError(f"{title}: give the rate as a number.")
    if value < 0:
        raise RateError(f"{title} cannot be negative.")
    if value < rule.low:
        raise RateError(f"{title} must be more than nothing.")
    if value > rule.high:
        raise RateError(f"{title} must be at most {format_value(kind, rule.high)}.")


# ------------------------------------------------------------------------------ the rates now


@dataclass(frozen=True)
class CurrentRate:
    """One row of the rates table: the rate as the catalogue has it now."""

    kind: RateKind
    code: str  # the metal's code or the stone kind (case-folded); "" for shop-wide rates
    name: str
    low: int | None  # None: nothing in the catalogue is priced by it yet
    high: int | None
    products: int  # how many products it prices

    @property
    def per(self) -> str:
        return RULES[self.kind].per

    @property
    def percent(self) -> bool:
        return RULES[self.kind].percent

    @property
    def varies(self) -> bool:
        return self.low != self.high

    @property
    def value(self) -> int | None:
        """The one rate, or None when products disagree (or there are none)."""
        return None if self.varies else self.low

    @property
    def text(self) -> str:
        if self.low is None or self.high is None:
            return "not used yet"
        if self.varies:
            low, high = format_value(self.kind, self.low), format_value(self.kind, self.high)
            return f"varies: {low} to {high}"
        return format_value(self.kind, self.low)

    @property
    def input_value(self) -> str:
        return "" if self.value is None else input_text(self.kind, self.value)


def metals() -> list[Metal]:
    return list(db.session.execute(select(Metal).order_by(Metal.position, Metal.id)).scalars())


def _metal_rates() -> list[CurrentRate]:
    counts = dict(
        db.session.execute(
            select(product_metals.c.metal_id, func.count()).group_by(product_metals.c.metal_id)
        ).all()
    )
    return [
        CurrentRate(
            RateKind.METAL,
            metal.code,
            metal.name,
            metal.rate_per_gram_minor,
            metal.rate_per_gram_minor,
            counts.get(metal.id, 0),
        )
        for metal in metals()
    ]


@dataclass
class _StoneKind:
    spellings: Counter[str]
    prices: list[int]
    products: set[int]

    @property
    def name(self) -> str:
        """The spelling most stones of this kind use (the first alphabetically on a tie)."""
        return _display(_most_used(self.spellings))


def _most_used(spellings: Counter[str]) -> str:
    return min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]


def _stone_kinds() -> dict[str, _StoneKind]:
    kinds: dict[str, _StoneKind] = {}
    rows = db.session.execute(
        select(ProductStone.kind, ProductStone.unit_price_minor, ProductStone.product_id)
    ).all()
    for kind, price, product_id in rows:
        entry = kinds.setdefault(stone_key(kind), _StoneKind(Counter(), [], set()))
        entry.spellings[" ".join(kind.split())] += 1
        entry.prices.append(price)
        entry.products.add(product_id)
    return dict(sorted(kinds.items()))


def _stone_rates() -> list[CurrentRate]:
    return [
        CurrentRate(
            RateKind.STONE,
            key,
            entry.name,
            min(entry.prices),
            max(entry.prices),
            len(entry.products),
        )
        for key, entry in _stone_kinds().items()
    ]


def _shop_wide_rate(kind: RateKind) -> CurrentRate:
    column = getattr(Product, RULES[kind].column)
    low, high, count = db.session.execute(
        select(func.min(column), func.max(column), func.count(Product.id))
    ).one()
    return CurrentRate(kind, "", RULES[kind].name, low, high, count)


def current_rates() -> list[CurrentRate]:
    """Every rate the catalogue is priced from: metals, stones, bench, certification, shipping."""
    return [
        *_metal_rates(),
        *_stone_rates(),
        *(
            _shop_wide_rate(kind)
            for kind in (
                RateKind.BENCH,
                RateKind.CERTIFICATION,
                RateKind.SHIPPING,
                RateKind.INSURANCE,
            )
        ),
    ]


# ---------------------------------------------------------------------------- setting a rate


@dataclass(frozen=True)
class RateChanged:
    kind: RateKind
    name: str  # "Yellow Gold", "Diamond", "Bench hourly rate"
    old_text: str  # "$95.00", or "$90.00 to $420.00" where products disagreed
    new_text: str
    products_repriced: int

    @property
    def per(self) -> str:
        return RULES[self.kind].per


def set_rate(
    *, kind: RateKind, code: str, value: int, by_user_id: int | None, note: str = ""
) -> RateChanged:
    """Set one rate of the table, record who changed it, and reprice the catalogue.

    ``code`` is the metal's code or the stone kind; ``value`` is in minor units, or basis
    points for the insurance. Raises RateError, naming the rate, when it cannot be set.
    """
    try:
        kind = RateKind(kind)
    except ValueError as exc:
        raise RateError("No such rate.") from exc
    if kind is RateKind.METAL:
        return set_metal_rate(
            metal_code=code, rate_per_gram_minor=value, by_user_id=by_user_id, note=note
        )
    if kind is RateKind.STONE:
        return set_stone_price(
            stone_kind=code, unit_price_minor=value, by_user_id=by_user_id, note=note
        )
    return set_shop_wide_rate(kind=kind, value=value, by_user_id=by_user_id, note=note)


def set_metal_rate(
    *, metal_code: str, rate_per_gram_minor: int, by_user_id: int | None, note: str = ""
) -> RateChanged:
    """Set a metal's price per gram, record who changed it, and reprice the catalogue."""
    lock_names(RATES_LOCK)
    metal_id = db.session.execute(select(Metal.id).where(Metal.code == metal_code)).scalar()
    metal = lock_row(Metal, metal_id) if metal_id is not None else None
    if metal is None:
        raise RateError("No such metal.")
    _check_range(RateKind.METAL, rate_per_gram_minor, title=f"{metal.name}'s price per gram")
    old = metal.rate_per_gram_minor
    if old == rate_per_gram_minor:
        raise RateError(f"{metal.name} is already at that rate.")
    metal.rate_per_gram_minor = rate_per_gram_minor
    db.session.add(
        MetalRateChange(
            metal_id=metal.id,
            old_rate_minor=old,
            new_rate_minor=rate_per_gram_minor,
            note=note.strip()[:NOTE_LENGTH],
            changed_by_id=by_user_id,
            changed_at=utcnow(),
        )
    )
    product_ids = db.session.execute(
        select(product_metals.c.product_id).where(product_metals.c.metal_id == metal.id)
    ).scalars()
    repriced = _reprice(lock_rows(Product, product_ids).values())
    caching.catalogue_changed()
    return RateChanged(
        RateKind.METAL,
        metal.name,
        format_value(RateKind.METAL, old),
        format_value(RateKind.METAL, rate_per_gram_minor),
        repriced,
    )


def set_stone_price(
    *, stone_kind: str, unit_price_minor: int, by_user_id: int | None, note: str = ""
) -> RateChanged:
    """Set the price per stone of one stone kind on every product that has it; reprice."""
    key = stone_key(stone_kind or "")
    _check_range(RateKind.STONE, unit_price_minor, title=rate_title(RateKind.STONE, key))
    lock_names(RATES_LOCK)
    product_ids = {
        product_id
        for kind, product_id in db.session.execute(
            select(ProductStone.kind, ProductStone.product_id)
        ).all()
        if stone_key(kind) == key
    }
    if not key or not product_ids:
        raise RateError(
            f"No stones called {stone_kind.strip()[:STONE_KIND_LENGTH]!r} in the catalogue."
        )
    products = lock_rows(Product, product_ids)
    stones = [
        stone
        for stone in db.session.execute(
            select(ProductStone)
            .where(ProductStone.product_id.in_(sorted(products)))
            .order_by(ProductStone.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
        if stone_key(stone.kind) == key
    ]
    name = _display(_most_used(Counter(" ".join(stone.kind.split()) for stone in stones)))
    olds = [stone.unit_price_minor for stone in stones]
    _refuse_unchanged(RateKind.STONE, name, olds, unit_price_minor)
    for stone in stones:
        stone.unit_price_minor = unit_price_minor
    return _record(
        RateKind.STONE, key, name, olds, unit_price_minor, products.values(), by_user_id, note
    )


def set_shop_wide_rate(
    *, kind: RateKind, value: int, by_user_id: int | None, note: str = ""
) -> RateChanged:
    """Set the bench rate, certification fee, flat shipping or insurance on every product."""
    rule = RULES[RateKind(kind)]
    if not rule.column:
        raise RateError("That rate is not set for the whole shop.")
    _check_range(rule.kind, value, title=rate_title(rule.kind))
    lock_names(RATES_LOCK)
    products = lock_rows(Product, db.session.execute(select(Product.id)).scalars())
    if not products:
        raise RateError("There are no products to price yet.")
    olds = [getattr(product, rule.column) for product in products.values()]
    _refuse_unchanged(rule.kind, rule.name, olds, value)
    for product in products.values():
        setattr(product, rule.column, value)
    return _record(rule.kind, "", rule.name, olds, value, products.values(), by_user_id, note)


def _refuse_unchanged(kind: RateKind, name: str, olds: list[int], value: int) -> None:
    if all(old == value for old in olds):
        raise RateError(f"{name} is already at {format_value(kind, value)}.")


def _record(
    kind: RateKind,
    code: str,
    name: str,
    olds: list[int],
    value: int,
    products: Iterable[Product],
    by_user_id: int | None,
    note: str,
) -> RateChanged:
    """Write the history row, reprice the products, tell the page caches after the commit."""
    low, high = min(olds), max(olds)
    old_text = format_value(kind, low)
    note = note.strip()
    if low != high:
        old_text = f"{old_text} to {format_value(kind, high)}"
        note = f"{SPREAD.format(spread=old_text)} {note}".strip()
    db.session.add(
        RateChange(
            subject=kind.value,
            code=code[:STONE_KIND_LENGTH],
            old_value=low,
            new_value=value,
            note=note[:NOTE_LENGTH],
            changed_by_id=by_user_id,
            changed_at=utcnow(),
        )
    )
    repriced = _reprice(products)
    caching.catalogue_changed()
    return RateChanged(kind, name, old_text, format_value(kind, value), repriced)


def _reprice(products: Iterable[Product]) -> int:
    """Recompute each product's "from" price from the rates as they now stand."""
    db.session.flush()
    count = 0
    for product in products:
        if product.metals:  # a draft not yet offered in any metal has no price to keep
            refresh_list_price(product)
            count += 1
    return count


# ------------------------------------------------------------------------------------ history


@dataclass(frozen=True)
class HistoryEntry:
    """One change in the merged history of every rate."""

    changed_at: datetime  # naive UTC, as stored
    local_at: datetime  # the same moment on the studio's clock
    kind: RateKind
    name: str
    per: str
    old_text: str
    new_text: str
    changed_by: str
    note: str


def _who(user) -> str:
    if user is None:
        return "the atelier"
    return user.name or user.email


def _from_and_note(kind: RateKind, old_value: int, note: str) -> tuple[str, str]:
    """A history row's "from" (the spread, where products disagreed) and the admin's note."""
    old_text = format_value(kind, old_value)
    spread = _SPREAD.match(note)
    if spread and spread["spread"].startswith(f"{old_text} to "):
        return spread["spread"], note[spread.end() :]
    return old_text, note


def rate_history(*, zone: ZoneInfo | str = "UTC", limit: int = 50) -> list[HistoryEntry]:
    """The latest changes of every rate, newest first, with times on ``zone``'s clock."""
    metal_changes = db.session.execute(
        select(MetalRateChange)
        .order_by(MetalRateChange.changed_at.desc(), MetalRateChange.id.desc())
        .limit(limit)
    ).scalars()
    other_changes = db.session.execute(
        select(RateChange).order_by(RateChange.changed_at.desc(), RateChange.id.desc()).limit(limit)
    ).scalars()
    stone_names = {key: entry.name for key, entry in _stone_kinds().items()}
    entries: list[tuple[tuple[datetime, int, int], HistoryEntry]] = []
    for change in metal_changes:
        entry = HistoryEntry(
            change.changed_at,
            to_local(change.changed_at, zone),
            RateKind.METAL,
            change.metal.name,
            RULES[RateKind.METAL].per,
            format_value(RateKind.METAL, change.old_rate_minor),
            format_value(RateKind.METAL, change.new_rate_minor),
            _who(change.changed_by),
            change.note,
        )
        entries.append(((change.changed_at, 0, change.id), entry))
    for change in other_changes:
        kind = RateKind(change.subject)
        name = (
            stone_names.get(change.code, _display(change.code))
            if kind is RateKind.STONE
            else RULES[kind].name
        )
        old_text, note = _from_and_note(kind, change.old_value, change.note)
        entry = HistoryEntry(
            change.changed_at,
            to_local(change.changed_at, zone),
            kind,
            name,
            RULES[kind].per,
            old_text,
            format_value(kind, change.new_value),
            _who(change.changed_by),
            note,
        )
        entries.append(((change.changed_at, 1, change.id), entry))
    entries.sort(key=lambda pair: pair[0], reverse=True)
    return [entry for _, entry in entries[:limit]]
