"""The head circumference estimate: its regression from ANSUR II figures and its interval."""

from __future__ import annotations

import math
import statistics

import pytest

import ar
from ar import headsize


def _width(face: ar.FaceMeasurement) -> float:
    low, high = face.head_circumference_range_mm
    return high - low


def test_regression_is_derived_from_the_published_figures():
    reg = headsize.REGRESSION
    # Pooled means: the line passes through them.
    c = statistics.fmean(m.mean for m in headsize.HEAD_CIRCUMFERENCE.values())
    b = statistics.fmean(m.mean for m in headsize.BIZYGOMATIC_BREADTH.values())
    assert reg.intercept + reg.slope * b == pytest.approx(c)
    assert 1.0 < reg.slope < 2.5  # mm of circumference per mm of breadth
    assert 12 < reg.residual_sd < 19  # a face's breadth alone leaves most of the spread
    assert pytest.approx(1.2816, abs=1e-4) == headsize.Z_INTERVAL


def test_range_is_wider_from_eye_spacing_than_from_the_iris(synthetic_face):
    iris = ar.measure_face(synthetic_face(px_per_mm=2.0), (2000, 2000))
    # Same face, same size in the picture; the irises disagree, so the scale is eye spacing.
    spacing = ar.measure_face(synthetic_face(px_per_mm=2.0, iris_mm=(11.7, 16.0)), (2000, 2000))
    assert (iris.scale_source, spacing.scale_source) == ("iris", "ipd")
    assert _width(spacing) > _width(iris) + 1.0
    low, high = iris.head_circumference_range_mm
    assert low < iris.head_circumference_mm < high
    assert 35 < high - low < 70  # about +-2.5 cm at 80 %: honest, not tape-measure precision


def test_a_turned_head_widens_the_range(synthetic_face):
    frontal = ar.measure_face(synthetic_face(px_per_mm=2.0), (2000, 2000))
    turned = ar.measure_face(synthetic_face(px_per_mm=2.0, yaw=30), (2000, 2000))
    assert turned.scale_source == "iris"
    assert _width(turned) > _width(frontal) + 2.0
    assert turned.head_circumference_mm == pytest.approx(frontal.head_circumference_mm, rel=0.01)


def test_a_small_face_widens_the_range(synthetic_face):
    near = ar.measure_face(synthetic_face(px_per_mm=2.0), (2000, 2000))
    small = ar.measure_face(synthetic_face(px_per_mm=0.8), (640, 480))
    assert small.scale_source == "iris"
    assert _width(small) > _width(near)


def test_combining_frames_narrows_the_range_to_a_floor():
    one = headsize.estimate_circumference(
        130.0, scale_source="iris", scale_px=8.0, breadth_px=90.0, turn_deg=0.0
    )
    jittered = [
        headsize.CircumferenceEstimate(one.mm + d, 0, 0, one.sd_mm, one.frame_sd_mm)
        for d in (-4.0, -2.0, 0.0, 1.0, 3.0) * 6
    ]
    combined = headsize.combine_estimates(jittered)
    assert combined.mm == pytest.approx(one.mm + 0.5, abs=1.0)
    assert combined.sd_mm < one.sd_mm
    floor = math.sqrt(one.sd_mm**2 - one.frame_sd_mm**2)
    assert combined.sd_mm >= floor
    assert headsize.combine_estimates([one]) == one
    # Frames that scatter widely do not narrow it below what they show.
    scattered = [
        headsize.CircumferenceEstimate(one.mm + d, 0, 0, one.sd_mm, one.frame_sd_mm)
        for d in (-30.0, 30.0, 0.0)
    ]
    assert headsize.combine_estimates(scattered).sd_mm > combined.sd_mm


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale_px": 0.0, "breadth_px": 90.0},
        {"scale_px": 8.0, "breadth_px": -1.0},
    ],
)
def test_rejects_impossible_measurements(kwargs):
    with pytest.raises(ValueError):
        headsize.estimate_circumference(130.0, scale_source="iris", turn_deg=0.0, **kwargs)
    with pytest.raises(ValueError):
        headsize.combine_estimates([])
