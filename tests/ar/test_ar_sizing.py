"""Size advice from an estimated head circumference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ar

TABLE = [ar.SizeBand("S", 500, 540), ar.SizeBand("M", 540, 580), ar.SizeBand("L", 580, 620)]


def test_well_inside_a_band_is_high_confidence():
    advice = ar.recommend_size(560, TABLE)
    assert (advice.label, advice.confidence, advice.alternative) == ("M", "high", None)
    assert "well inside size M" in advice.reason


@pytest.mark.parametrize(
    ("circumference", "label", "confidence", "alternative"),
    [(546, "M", "medium", "S"), (541, "M", "low", "S"), (573, "M", "medium", "L")],
)
def test_near_a_band_edge_names_the_other_size(circumference, label, confidence, alternative):
    advice = ar.recommend_size(circumference, list(reversed(TABLE)))
    assert (advice.label, advice.confidence, advice.alternative) == (label, confidence, alternative)
    assert "edge between sizes" in advice.reason


@pytest.mark.parametrize(("circumference", "label"), [(470, "S"), (700, "L")])
def test_outside_the_table_is_low_confidence(circumference, label):
    advice = ar.recommend_size(circumference, TABLE)
    assert (advice.label, advice.confidence) == (label, "low")
    assert "outside the size table" in advice.reason


def test_table_edges_without_a_neighbour_are_not_ambiguous():
    advice = ar.recommend_size(503, TABLE)
    assert (advice.label, advice.confidence) == ("S", "high")


def test_measurement_confidence_caps_the_advice():
    advice = ar.recommend_size(560, TABLE, confidence="low", reason="face is small in the frame")
    assert (advice.label, advice.confidence, advice.reason) == (
        "M",
        "low",
        "face is small in the frame",
    )
    assert ar.recommend_size(560, TABLE, confidence=0.5).confidence == "medium"
    assert ar.recommend_size(560, TABLE, confidence=0.9).confidence == "high"


def test_advice_for_a_measured_face(synthetic_face):
    close = ar.measure_face(synthetic_face(px_per_mm=2.0), (2000, 2000))
    table = [ar.SizeBand("one size", 400, 800)]
    assert ar.advise_size(close, table).confidence == "high"
    far = ar.measure_face(synthetic_face(px_per_mm=0.35), (640, 480))
    advice = ar.advise_size(far, table)
    assert advice.confidence == "low" and "eye spacing" in advice.reason


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ar.recommend_size(560, []), "empty"),
        (lambda: ar.recommend_size(-5, TABLE), "positive"),
        (lambda: ar.recommend_size(float("nan"), TABLE), "positive"),
        (lambda: ar.recommend_size(560, TABLE, confidence="sure"), "confidence"),
        (lambda: ar.recommend_size(560, TABLE, confidence=1.5), "between 0 and 1"),
        (lambda: ar.SizeBand("M", 560, 540), "below"),
        (lambda: ar.SizeBand("", 500, 540), "empty"),
        (lambda: ar.SizeBand.from_dict({"label": "M", "min_mm": "x", "max_mm": 5}), "invalid"),
    ],
)
def test_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_band_from_dict():
    assert ar.SizeBand.from_dict({"label": "M", "min_mm": 540, "max_mm": 580}) == TABLE[1]


@given(st.floats(1, 2000))
def test_always_recommends_a_size_from_the_table(circumference):
    advice = ar.recommend_size(circumference, TABLE)
    assert advice.label in {"S", "M", "L"}
    assert advice.confidence in {"high", "medium", "low"}


def test_a_range_inside_one_size_names_that_size():
    advice = ar.recommend_size(560, TABLE, range_mm=(545, 575))
    assert (advice.label, advice.sizes, advice.confidence) == ("M", ("M",), "high")
    assert not advice.spans_sizes
    assert advice.summary == "size M"
    assert advice.reason == "the whole range lies within size M"


def test_a_range_spanning_two_sizes_says_measure_to_be_sure():
    advice = ar.recommend_size(575, TABLE, range_mm=(552, 598))
    assert (advice.label, advice.alternative, advice.sizes) == ("M", "L", ("M", "L"))
    assert advice.summary == "between M and L: measure to be sure"
    assert advice.confidence == "medium" and "spans sizes M and L" in advice.reason
    # Three sizes: the ends are named, and the advice is no better than low.
    wide = ar.recommend_size(560, TABLE, range_mm=(530, 590))
    assert wide.summary == "between S and L: measure to be sure"
    assert wide.confidence == "low"


def test_the_measurement_still_caps_a_range_advice():
    advice = ar.recommend_size(
        560, TABLE, confidence="low", reason="small face", range_mm=(550, 570)
    )
    assert (advice.summary, advice.confidence, advice.reason) == ("size M", "low", "small face")


def test_a_range_beyond_the_table_falls_back_to_the_nearest_size():
    advice = ar.recommend_size(700, TABLE, range_mm=(680, 720))
    assert (advice.label, advice.confidence, advice.sizes) == ("L", "low", ())
    assert "outside the size table" in advice.reason


@pytest.mark.parametrize("bad", [(570, 550), (float("nan"), 570), (565, 580)])
def test_a_range_must_hold_the_estimate(bad):
    with pytest.raises(ValueError, match="range"):
        ar.recommend_size(560, TABLE, range_mm=bad)


def test_advice_for_a_measured_face_reads_its_range(synthetic_face):
    face = ar.measure_face(synthetic_face(px_per_mm=2.0), (2000, 2000))
    advice = ar.advise_size(face, TABLE)
    assert advice.range_mm == face.head_circumference_range_mm
    # A camera's 80 % interval is some 5 cm wide: it always reaches two of these sizes.
    assert advice.spans_sizes and advice.summary.startswith("between ")
