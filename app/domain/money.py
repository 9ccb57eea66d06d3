"""Money as integer minor units with a currency, and the project's one rounding rule.

The rounding rule: whenever an amount is derived by multiplying or dividing (grams × rate,
minutes × hourly rate, a percentage of a value), the exact rational result is rounded to the
nearest minor unit, with exact halves rounded away from zero ("half up" for positive amounts).
Every such computation goes through :func:`div_round`, so there is exactly one rule.
When a total is split into parts (deposit and balance, a refund across lines), the last part
takes the remainder so the parts always add up to the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision

DEFAULT_CURRENCY = "USD"


class CurrencyMismatch(ValueError):
    """Raised when amounts in two different currencies are combined."""


def div_round(numerator: int, denominator: int) -> int:
    """Divide two integers and round half away from zero (the project's one rounding rule)."""
    if denominator == 0:
        raise ZeroDivisionError("division by zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount of money in integer minor units (cents for USD)."""

    minor: int
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(f"Money.minor must be an int, got {type(self.minor).__name__}")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"Currency must be a three-letter ISO code, got {self.currency!r}")

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(0, currency)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"Cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.minor >= other.minor

    def times(self, numerator: int, denominator: int = 1) -> Money:
        """Multiply by the fraction numerator/denominator, rounding with :func:`div_round`."""
        return Money(div_round(self.minor * numerator, denominator), self.currency)

    def percent(self, basis_points: int) -> Money:
        """Return basis_points/10000 of this amount (250 bp = 2.5 %)."""
        return self.times(basis_points, 10_000)

    def split(self, first_share_bp: int) -> tuple[Money, Money]:
        """Split into (share, remainder) so the two parts always add up to this amount."""
        first = self.percent(first_share_bp)
        return first, self - first

    def format(self, locale: str = "en_US") -> str:
        """Format for people through Babel, e.g. "$1,234.50"."""
        return format_money(self, locale)


def total(amounts: list[Money] | tuple[Money, ...], currency: str = DEFAULT_CURRENCY) -> Money:
    """Sum amounts of one currency (an empty sum is zero in ``currency``)."""
    result = Money.zero(amounts[0].currency if amounts else currency)
    for amount in amounts:
        result = result + amount
    return result


def format_money(money: Money, locale: str = "en_US") -> str:
    """Format an amount for display; the only place minor units become a decimal string."""
    return _formatted(money.minor, money.currency, locale)


# Babel's formatting is a tenth of a product page's rendering; a page shows the same few
# amounts on every request, and the text of an amount never changes.
@lru_cache(maxsize=4096)
def _formatted(minor: int, currency: str, locale: str) -> str:
    digits = get_currency_precision(currency)
    value = Decimal(minor).scaleb(-digits)
    return format_currency(value, currency, locale=locale)


MAX_MAJOR_DIGITS = 15  # no price, quote or filter here reaches a quadrillion


def major_text(money: Money) -> str:
    """The amount as a plain decimal string in major units ("1234.50"), e.g. for a form or link."""
    return f"{Decimal(money.minor).scaleb(-get_currency_precision(money.currency)):f}"


def parse_major(text: str, currency: str = DEFAULT_CURRENCY) -> Money:
    """Parse a decimal string in major units ("1234.50") into Money; ValueError when malformed.

    Amounts of more than MAX_MAJOR_DIGITS whole digits are refused as malformed too, so
    "1e999999" is a clear error rather than a decimal overflow or a 100-digit integer.
    """
    digits = get_currency_precision(currency)
    try:
        value = Decimal(text.strip().replace(",", ""))
    except Exception as exc:  # decimal.InvalidOperation and friends
        raise ValueError(f"{text!r} is not an amount of money") from exc
    if not value.is_finite():
        raise ValueError(f"{text!r} is not an amount of money")
    if value and value.adjusted() >= MAX_MAJOR_DIGITS:
        raise ValueError(f"{text[:40]!r} is far too large an amount")
    scaled = value.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more than {digits} decimal places")
    return Money(int(scaled), currency)
