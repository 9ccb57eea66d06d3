"""The price breakdown: computed in one place from a bill of materials and the atelier's rates.

The product page, the cart and the order all call :func:`price_piece`; a breakdown's lines
always add up exactly to its total because the total *is* the sum of the lines, and every
line is an integer number of minor units produced by the one rounding rule in ``money``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.money import DEFAULT_CURRENCY, Money, format_money, total


class PricingError(ValueError):
    """Raised when a piece cannot be priced (unknown option, inconsistent inputs)."""


@dataclass(frozen=True, slots=True)
class MetalRate:
    code: str
    name: str
    rate_per_gram_minor: int


@dataclass(frozen=True, slots=True)
class StoneSet:
    kind: str
    count: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class FitSize:
    code: str
    label: str
    min_circumference_mm: int
    max_circumference_mm: int
    adjustment_minor: int
    # Larger sizes use more metal: extra metal weight in permille of the base weight.
    metal_permille: int = 0


@dataclass(frozen=True, slots=True)
class BillOfMaterials:
    """What one piece is made of, independent of the chosen metal and size."""

    metal_weight_mg: int
    stones: tuple[StoneSet, ...]
    bench_minutes: int
    labour_rate_per_hour_minor: int
    provenance_minor: int
    packaging_minor: int
    shipping_minor: int
    insurance_bp: int  # insured shipping premium, basis points of the declared goods value
    currency: str = DEFAULT_CURRENCY


@dataclass(frozen=True, slots=True)
class PriceLine:
    code: str
    label: str
    detail: str
    amount: Money

    def as_dict(self) -> dict[str, object]:
        return {"label": self.label, "detail": self.detail, "amount_minor": self.amount.minor}


@dataclass(frozen=True, slots=True)
class Breakdown:
    lines: tuple[PriceLine, ...]
    currency: str = DEFAULT_CURRENCY
    total: Money = field(init=False)
    goods_value: Money = field(init=False)

    def __post_init__(self) -> None:
        for line in self.lines:
            if line.amount.currency != self.currency:
                raise PricingError(f"Line {line.label!r} is in {line.amount.currency}")
        object.__setattr__(self, "total", total([x.amount for x in self.lines], self.currency))
        goods = [x.amount for x in self.lines if x.code != "shipping"]
        object.__setattr__(self, "goods_value", total(goods, self.currency))

    def as_dict(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "lines": [line.as_dict() for line in self.lines],
            "total_minor": self.total.minor,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Breakdown:
        """Rebuild a breakdown frozen as JSON (orders keep the one they were sold at)."""
        currency = data["currency"]
        lines = tuple(
            PriceLine(
                code=line.get("code", "line"),
                label=line["label"],
                detail=line["detail"],
                amount=Money(int(line["amount_minor"]), currency),
            )
            for line in data["lines"]
        )
        return cls(lines=lines, currency=currency)


def _grams(mg: int) -> str:
    whole, frac = divmod(mg, 1000)
    text = f"{whole}.{frac:03d}".rstrip("0").rstrip(".")
    return f"{text} g"


def _cm(mm: int) -> str:
    whole, tenth = divmod(mm, 10)
    return f"{whole}.{tenth}" if tenth else str(whole)


def _hours(minutes: int) -> str:
    whole, frac = divmod(minutes, 60)
    if frac == 0:
        return f"{whole} h"
    return f"{whole} h {frac:02d} min"


def price_piece(bom: BillOfMaterials, metal: MetalRate, size: FitSize) -> Breakdown:
    """Price one piece in the given metal and size as an itemised breakdown."""
    cur = bom.currency
    if bom.metal_weight_mg <= 0 or bom.bench_minutes < 0:
        raise PricingError("A piece needs a positive metal weight and non-negative bench time")
    if metal.rate_per_gram_minor < 0 or bom.labour_rate_per_hour_minor < 0:
        raise PricingError("Rates cannot be negative")
    if not 0 <= bom.insurance_bp <= 10_000:
        raise PricingError("Insurance must be between 0 and 100 %")

    base_weight_mg = bom.metal_weight_mg
    extra_weight_mg = Money(base_weight_mg).times(size.metal_permille, 1000).minor
    weight_mg = base_weight_mg + extra_weight_mg
    rate = Money(metal.rate_per_gram_minor, cur)
    lines = [
        PriceLine(
            "metal",
            f"Metal: {metal.name}",
            f"{_grams(weight_mg)} × {format_money(rate)}/g",
            rate.times(weight_mg, 1000),
        )
    ]
    for stones in bom.stones:
        if stones.count <= 0:
            continue
        unit = Money(stones.unit_price_minor, cur)
        lines.append(
            PriceLine(
                f"stones:{stones.kind}",
                f"Gemstones: {stones.kind}",
                f"{stones.count} × {format_money(unit)}",
                unit.times(stones.count),
            )
        )
    hourly = Money(bom.labour_rate_per_hour_minor, cur)
    lines.append(
        PriceLine(
            "labour",
            "Hand-finishing labour",
            f"{_hours(bom.bench_minutes)} at the bench × {format_money(hourly)}/h",
            hourly.times(bom.bench_minutes, 60),
        )
    )
    lines.append(
        PriceLine(
            "provenance",
            "Provenance and certification",
            "Provenance passport, assay and certificate of authenticity",
            Money(bom.provenance_minor, cur),
        )
    )
    lines.append(
        PriceLine(
            "fit",
            f"Fit adjustment: size {size.code}",
            f"{size.label} ({_cm(size.min_circumference_mm)}–{_cm(size.max_circumference_mm)} cm)",
            Money(size.adjustment_minor, cur),
        )
    )
    goods = total([line.amount for line in lines], cur)
    insurance = goods.percent(bom.insurance_bp)
    shipping = Money(bom.packaging_minor + bom.shipping_minor, cur) + insurance
    lines.append(
        PriceLine(
            "shipping",
            "Packaging and insured shipping",
            f"Gift box, courier with signature, insured for {format_money(goods)}",
            shipping,
        )
    )
    return Breakdown(lines=tuple(lines), currency=cur)


def deposit_split(estimate: Money, deposit_percent: int) -> tuple[Money, Money]:
    """Split a custom commission's estimate into (deposit, balance); they add up exactly."""
    if not 0 < deposit_percent <= 100:
        raise PricingError("Deposit must be between 1 and 100 percent")
    return estimate.split(deposit_percent * 100)
