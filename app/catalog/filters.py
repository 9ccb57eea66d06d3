"""Parse the catalog's query string into a filter; nonsense values are dropped with a notice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.domain.money import Money, major_text, parse_major

SORTS = {
    "newest": "Newest first",
    "price-asc": "Price: low to high",
    "price-desc": "Price: high to low",
}
MAX_PRICE_MINOR = 2**31 - 1  # list_price_minor is an INTEGER column (PostgreSQL: 32 bits)


@dataclass(frozen=True)
class CatalogFilter:
    kind: str | None = None
    tier: str | None = None
    metal: str | None = None
    min_price_minor: int | None = None
    max_price_minor: int | None = None
    available_only: bool = False
    sort: str = "newest"
    notices: tuple[str, ...] = field(default=(), compare=False)

    def query_args(self) -> dict[str, str]:
        """The filter as query-string arguments (for links that keep it)."""
        args: dict[str, str] = {}
        for name in ("kind", "tier", "metal"):
            if getattr(self, name):
                args[name] = getattr(self, name)
        if self.min_price_minor is not None:
            args["min_price"] = major_text(Money(self.min_price_minor))
        if self.max_price_minor is not None:
            args["max_price"] = major_text(Money(self.max_price_minor))
        if self.available_only:
            args["availability"] = "available"
        if self.sort != "newest":
            args["sort"] = self.sort
        return args


def _price(raw: str, label: str, notices: list[str]) -> int | None:
    if not raw.strip():
        return None
    try:
        money = parse_major(raw)
    except ValueError:
        notices.append(f"Ignored the {label} “{raw[:40]}”: it is not an amount.")
        return None
    if not 0 <= money.minor <= MAX_PRICE_MINOR:
        notices.append(f"Ignored the {label} “{raw[:40]}”: it is out of range.")
        return None
    return money.minor


def parse_filter(args: Mapping[str, str], *, metal_codes: set[str]) -> CatalogFilter:
    """Build a CatalogFilter from request arguments, with a notice for each ignored value."""
    notices: list[str] = []

    def choice(name: str, allowed: set[str] | dict[str, str], label: str) -> str | None:
        raw = args.get(name, "").strip()
        if not raw or raw == "all":
            return None
        if raw in allowed:
            return raw
        notices.append(f"Ignored the unknown {label} “{raw[:40]}”.")
        return None

    kind = choice("kind", {"crown", "tiara"}, "kind")
    tier = choice("tier", {"studio", "custom"}, "tier")
    metal = choice("metal", metal_codes, "metal")
    sort = choice("sort", SORTS, "sort order") or "newest"
    availability = choice("availability", {"available"}, "availability")
    min_price = _price(args.get("min_price", ""), "minimum price", notices)
    max_price = _price(args.get("max_price", ""), "maximum price", notices)
    if min_price is not None and max_price is not None and min_price > max_price:
        notices.append("The minimum price was above the maximum; they were swapped.")
        min_price, max_price = max_price, min_price
    return CatalogFilter(
        kind=kind,
        tier=tier,
        metal=metal,
        min_price_minor=min_price,
        max_price_minor=max_price,
        available_only=availability == "available",
        sort=sort,
        notices=tuple(notices),
    )
