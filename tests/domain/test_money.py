from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.money import (
    CurrencyMismatch,
    Money,
    div_round,
    format_money,
    major_text,
    parse_major,
    total,
)


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [(5, 2, 3), (-5, 2, -3), (4, 2, 2), (7, 3, 2), (8, 3, 3), (1, 3, 0), (-1, 3, 0), (3, -2, -2)],
)
def test_div_round_rounds_half_away_from_zero(num, den, expected):
    assert div_round(num, den) == expected


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_div_round_is_nearest(num, den):
    q = div_round(num, den)
    assert abs(num - q * den) * 2 <= den


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatch):
        Money(100, "USD") + Money(100, "EUR")
    with pytest.raises(ValueError, match="three-letter"):
        Money(1, "usd")


def test_format_goes_through_babel():
    assert format_money(Money(123456)) == "$1,234.56"
    assert format_money(Money(-5)) == "-$0.05"
    assert format_money(Money(500, "JPY")) == "¥500"


@given(st.integers(0, 10**12), st.integers(0, 10_000))
def test_split_parts_add_up(minor, bp):
    first, rest = Money(minor).split(bp)
    assert first + rest == Money(minor)
    assert first.minor >= 0 and rest.minor >= 0


def test_parse_major():
    assert parse_major("1,234.50") == Money(123450)
    assert parse_major("7") == Money(700)
    for bad in ("abc", "1.234", "nan", "inf", "", "1e999999", "-1e999999", "1e30", "9" * 16):
        with pytest.raises(ValueError):
            parse_major(bad)
    assert parse_major("9" * 15) == Money(int("9" * 15) * 100)
    assert parse_major("0e999999") == Money(0)


@given(st.integers(min_value=-(10**17) + 1, max_value=10**17 - 1))
def test_major_text_round_trips(minor):
    assert parse_major(major_text(Money(minor))) == Money(minor)


def test_total_of_nothing_is_zero():
    assert total([]) == Money(0)
