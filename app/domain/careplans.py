"""Extended care plans: their price rule, their line in a breakdown, and when they end.

A care plan is bought with a piece and extends free repairs beyond the warranty: for whole
years from delivery, or for the piece's lifetime. Its price is set by admins as one of two
rules, shown to the buyer as it is: a share of the piece's price (basis points of the goods,
before packaging and shipping) or a fixed amount. The plan is its own line of the piece's
breakdown (code ``care_plan``), so the breakdown still adds up exactly to its total.

The end date is counted like the warranty (``app.domain.aftersale``): on the studio's
calendar, from the day of delivery, in whole calendar years, 29 February ending on 28 February
in a common year; the end day itself is covered. A lifetime plan has no end (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.domain.aftersale import add_years, delivery_day
from app.domain.money import Money, format_money
from app.domain.pricing import Breakdown, PriceLine

CARE_PLAN_CODE = "care_plan"
SHARE = "share"
FIXED = "fixed"
RULES = (SHARE, FIXED)
MAX_YEARS = 50  # "lifetime" is its own plan; a term beyond this is a typing slip
MAX_SHARE_BP = 5_000  # half the piece's price: more is surely a slip
NAME_MAX = 80


class CarePlanError(ValueError):
    """A care plan that cannot be defined or priced; the message is for people."""


@dataclass(frozen=True, slots=True)
class CarePlanTerms:
    """What a plan is: its name, its term (None: lifetime) and its price rule."""

    name: str
    years: int | None
    rule: str  # SHARE or FIXED
    amount: int  # basis points of the piece's price (SHARE) or minor units (FIXED)

    def __post_init__(self) -> None:
        if not self.name.strip() or len(self.name) > NAME_MAX:
            raise CarePlanError(f"Give the plan a name of at most {NAME_MAX} characters.")
        if self.years is not None and not 1 <= self.years <= MAX_YEARS:
            raise CarePlanError(f"A plan runs 1 to {MAX_YEARS} years, or for life.")
        if self.rule not in RULES:
            raise CarePlanError("A plan is priced as a share of the piece or a fixed amount.")
        if self.rule == SHARE and not 1 <= self.amount <= MAX_SHARE_BP:
            raise CarePlanError(
                f"A share is between 0.01 % and {MAX_SHARE_BP // 100} % of the piece's price."
            )
        if self.rule == FIXED and self.amount < 1:
            raise CarePlanError("A fixed price must be more than nothing.")

    @property
    def is_lifetime(self) -> bool:
        return self.years is None

    @property
    def term_text(self) -> str:
        if self.years is None:
            return "for the piece's lifetime"
        return f"for {self.years} year{'s' if self.years != 1 else ''} from delivery"

    def rule_text(self, currency: str) -> str:
        """The rule as the buyer and staff read it: "8 % of the piece's price" or "$150.00"."""
        if self.rule == SHARE:
            whole, frac = divmod(self.amount, 100)
            percent = f"{whole}.{frac:02d}".rstrip("0").rstrip(".")
            return f"{percent} % of the piece's price"
        return f"{format_money(Money(self.amount, currency))} per piece"


def care_plan_price(terms: CarePlanTerms, piece_price: Money) -> Money:
    """The plan's price for a piece of this price, by the one rounding rule."""
    if terms.rule == SHARE:
        return piece_price.percent(terms.amount)
    return Money(terms.amount, piece_price.currency)


def without_care_plan(breakdown: Breakdown) -> Breakdown:
    """The breakdown without its care-plan line (the piece as priced alone)."""
    lines = tuple(line for line in breakdown.lines if line.code != CARE_PLAN_CODE)
    return Breakdown(lines=lines, currency=breakdown.currency)


def with_care_plan(breakdown: Breakdown, terms: CarePlanTerms) -> Breakdown:
    """The breakdown with the plan's line last, priced on the piece's goods as they are now.

    An existing plan line is priced again, so a commission's plan follows its final price.
    """
    piece = without_care_plan(breakdown)
    price = care_plan_price(terms, piece.goods_value)
    line = PriceLine(
        CARE_PLAN_CODE,
        f"Care plan: {terms.name}",
        f"Repairs covered {terms.term_text}; {terms.rule_text(breakdown.currency)}",
        price,
    )
    return Breakdown(lines=(*piece.lines, line), currency=breakdown.currency)


def care_plan_amount(breakdown: Breakdown) -> Money:
    """What the breakdown charges for a care plan (zero without one)."""
    for line in breakdown.lines:
        if line.code == CARE_PLAN_CODE:
            return line.amount
    return Money.zero(breakdown.currency)


def care_plan_end(*, delivered_at: datetime, zone: ZoneInfo, years: int | None) -> date | None:
    """The last covered day (studio calendar, inclusive), or None for a lifetime plan."""
    if years is None:
        return None
    if years < 1:
        raise CarePlanError("A plan runs at least a year.")
    return add_years(delivery_day(delivered_at=delivered_at, zone=zone), years)
