"""Care plans: the price rule, the breakdown line, and the end date on the studio's calendar."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.careplans import (
    CARE_PLAN_CODE,
    FIXED,
    SHARE,
    CarePlanError,
    CarePlanTerms,
    care_plan_amount,
    care_plan_end,
    with_care_plan,
    without_care_plan,
)
from app.domain.money import Money
from app.domain.pricing import Breakdown, PriceLine

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
FIVE_YEARS = CarePlanTerms(name="Five-year repairs", years=5, rule=SHARE, amount=800)
LIFETIME = CarePlanTerms(name="Lifetime repairs", years=None, rule=FIXED, amount=45_000)


def _breakdown(goods: int, shipping: int = 4_000) -> Breakdown:
    return Breakdown(
        lines=(
            PriceLine("metal", "Metal", "", Money(goods - 1)),
            PriceLine("labour", "Labour", "", Money(1)),
            PriceLine("shipping", "Shipping", "", Money(shipping)),
        )
    )


def test_a_share_is_of_the_piece_before_shipping_and_is_its_own_line():
    priced = with_care_plan(_breakdown(123_456), FIVE_YEARS)
    line = priced.lines[-1]
    assert line.code == CARE_PLAN_CODE and line.label == "Care plan: Five-year repairs"
    assert line.amount == Money(9_876)  # 8 % of 1,234.56 = 98.7648, rounded half up
    assert "8 % of the piece's price" in line.detail and "5 years from delivery" in line.detail
    assert priced.total == Money(123_456 + 4_000 + 9_876)
    assert care_plan_amount(priced) == Money(9_876)


def test_a_fixed_amount_and_pricing_again_replaces_the_line():
    once = with_care_plan(_breakdown(100_000), LIFETIME)
    assert once.lines[-1].amount == Money(45_000) and "$450.00 per piece" in once.lines[-1].detail
    again = with_care_plan(with_care_plan(_breakdown(200_000), FIVE_YEARS), FIVE_YEARS)
    assert [x.code for x in again.lines].count(CARE_PLAN_CODE) == 1
    assert again.lines[-1].amount == Money(16_000)
    assert without_care_plan(again) == _breakdown(200_000)
    assert care_plan_amount(_breakdown(1_000)) == Money(0)


@given(goods=st.integers(1, 10**9), bp=st.integers(1, 5_000))
def test_the_lines_always_add_up(goods, bp):
    terms = CarePlanTerms(name="Plan", years=3, rule=SHARE, amount=bp)
    priced = with_care_plan(_breakdown(goods), terms)
    assert priced.total.minor == sum(line.amount.minor for line in priced.lines)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": " ", "years": 5, "rule": SHARE, "amount": 100},
        {"name": "x", "years": 0, "rule": SHARE, "amount": 100},
        {"name": "x", "years": 51, "rule": SHARE, "amount": 100},
        {"name": "x", "years": 5, "rule": "free", "amount": 100},
        {"name": "x", "years": 5, "rule": SHARE, "amount": 0},
        {"name": "x", "years": 5, "rule": SHARE, "amount": 5_001},
        {"name": "x", "years": None, "rule": FIXED, "amount": 0},
    ],
)
def test_nonsense_plans_are_refused_in_words(kwargs):
    with pytest.raises(CarePlanError):
        CarePlanTerms(**kwargs)


def test_lifetime_has_no_end():
    assert care_plan_end(delivered_at=datetime(2026, 3, 3, 12), zone=LONDON, years=None) is None


def test_the_end_is_the_same_day_years_later_inclusive():
    end = care_plan_end(delivered_at=datetime(2026, 3, 3, 12), zone=LONDON, years=5)
    assert end == date(2031, 3, 3)


def test_a_leap_day_delivery_ends_on_the_last_day_of_february():
    assert care_plan_end(delivered_at=datetime(2028, 2, 29, 12), zone=LONDON, years=5) == date(
        2033, 2, 28
    )
    assert care_plan_end(delivered_at=datetime(2028, 2, 29, 12), zone=LONDON, years=4) == date(
        2032, 2, 29
    )


def test_the_last_day_of_the_year_and_the_studio_time_zone():
    # 31 Dec 23:30 in London is already 1 Jan in UTC+ zones, but still 31 Dec in the studio.
    assert care_plan_end(delivered_at=datetime(2026, 12, 31, 23, 30), zone=LONDON, years=1) == (
        date(2027, 12, 31)
    )
    # 02:00 UTC on 1 January is still New Year's Eve in New York: counted from 31 December.
    assert care_plan_end(delivered_at=datetime(2027, 1, 1, 2), zone=NEW_YORK, years=1) == date(
        2027, 12, 31
    )


def test_a_term_under_a_year_is_refused():
    with pytest.raises(CarePlanError):
        care_plan_end(delivered_at=datetime(2026, 1, 1), zone=LONDON, years=0)
