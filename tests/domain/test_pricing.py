from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.money import Money
from app.domain.pricing import (
    BillOfMaterials,
    Breakdown,
    FitSize,
    MetalRate,
    PricingError,
    StoneSet,
    deposit_split,
    price_piece,
)

GOLD = MetalRate("yellow-gold", "18k yellow gold", 7_450)
M = FitSize("M", "Standard", 545, 570, 0)
L = FitSize("L", "Generous", 570, 600, 4_500, metal_permille=40)


def bom(**overrides) -> BillOfMaterials:
    values = dict(
        metal_weight_mg=182_345,
        stones=(StoneSet("diamond", 12, 42_000), StoneSet("ruby", 5, 36_000)),
        bench_minutes=1_265,
        labour_rate_per_hour_minor=9_500,
        provenance_minor=18_000,
        packaging_minor=4_500,
        shipping_minor=6_500,
        insurance_bp=150,
    )
    values.update(overrides)
    return BillOfMaterials(**values)


def test_breakdown_lines_are_the_documented_ones():
    b = price_piece(bom(), GOLD, M)
    labels = [line.label for line in b.lines]
    assert labels == [
        "Metal: 18k yellow gold",
        "Gemstones: diamond",
        "Gemstones: ruby",
        "Hand-finishing labour",
        "Provenance and certification",
        "Fit adjustment: size M",
        "Packaging and insured shipping",
    ]
    metal = b.lines[0]
    # 182.345 g × $74.50 = $13,584.7025 -> rounds to $13,584.70
    assert metal.amount == Money(1_358_470)
    assert metal.detail == "182.345 g × $74.50/g"
    assert b.lines[1].amount == Money(12 * 42_000)
    # 21 h 05 min × $95 = $2,002.9166… -> $2,002.92
    assert b.lines[3].amount == Money(200_292)
    assert b.lines[3].detail.startswith("21 h 05 min")


def test_insurance_is_a_share_of_the_goods_value():
    b = price_piece(bom(), GOLD, M)
    goods = sum(line.amount.minor for line in b.lines[:-1])
    assert b.goods_value == Money(goods)
    expected = 4_500 + 6_500 + (goods * 150 + 5_000) // 10_000
    assert b.lines[-1].amount == Money(expected)


def test_larger_size_adds_metal_and_fit_fee():
    m = price_piece(bom(), GOLD, M)
    big = price_piece(bom(), GOLD, L)
    assert big.lines[0].amount > m.lines[0].amount
    assert big.lines[5].amount == Money(4_500)
    assert big.total > m.total


def test_bad_inputs_raise():
    with pytest.raises(PricingError):
        price_piece(bom(metal_weight_mg=0), GOLD, M)
    with pytest.raises(PricingError):
        price_piece(bom(insurance_bp=20_000), GOLD, M)
    with pytest.raises(PricingError):
        deposit_split(Money(100), 0)


stone_sets = st.lists(
    st.builds(
        StoneSet,
        st.sampled_from(["diamond", "ruby", "pearl"]),
        st.integers(0, 200),
        st.integers(0, 500_000),
    ),
    max_size=4,
).map(tuple)


@given(
    weight=st.integers(1, 2_000_000),
    stones=stone_sets,
    minutes=st.integers(0, 10_000),
    rate=st.integers(0, 50_000),
    metal_rate=st.integers(0, 20_000),
    permille=st.integers(0, 200),
    adjustment=st.integers(0, 100_000),
    insurance=st.integers(0, 10_000),
)
def test_lines_always_sum_to_total(
    weight, stones, minutes, rate, metal_rate, permille, adjustment, insurance
):
    b = price_piece(
        bom(
            metal_weight_mg=weight,
            stones=stones,
            bench_minutes=minutes,
            labour_rate_per_hour_minor=rate,
            insurance_bp=insurance,
        ),
        MetalRate("m", "Metal", metal_rate),
        FitSize("X", "X", 500, 600, adjustment, permille),
    )
    assert sum(line.amount.minor for line in b.lines) == b.total.minor
    assert all(isinstance(line.amount.minor, int) for line in b.lines)
    # and a breakdown frozen as JSON comes back identical
    again = Breakdown.from_dict(b.as_dict())
    assert again.total == b.total
    assert [x.amount for x in again.lines] == [x.amount for x in b.lines]


@given(st.integers(0, 10**10), st.integers(1, 100))
def test_deposit_and_balance_add_up(estimate, pct):
    deposit, balance = deposit_split(Money(estimate), pct)
    assert deposit + balance == Money(estimate)
