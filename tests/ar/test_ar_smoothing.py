"""One Euro smoothing of placements for live video."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ar
from ar.placement import placement_from_band

FPS = 30.0
SPEC = ar.PieceSpec("crown", 150, (20, 239), (379, 239))


def _placement(cx: float, cy: float, width: float = 120.0, angle: float = 0.0) -> ar.Placement:
    turn = math.radians(angle)
    along = np.array([math.cos(turn), math.sin(turn)])
    up = np.array([along[1], -along[0]]) * width / SPEC.band_length
    centre = np.array([cx, cy])
    return placement_from_band(SPEC, centre - along * width / 2, centre + along * width / 2, up)


def _centre(placement: ar.Placement) -> np.ndarray:
    return (np.array(placement.band_left) + np.array(placement.band_right)) / 2


def test_first_value_passes_and_constants_stay_constant():
    one_euro = ar.OneEuroFilter(min_cutoff=1.0, beta=0.5)
    np.testing.assert_array_equal(one_euro(np.array([3.0, -2.0]), 0.0), [3.0, -2.0])
    for i in range(1, 30):
        np.testing.assert_allclose(one_euro(np.array([3.0, -2.0]), i / FPS), [3.0, -2.0])


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40))
def test_output_stays_within_the_inputs_range(values):
    one_euro = ar.OneEuroFilter(min_cutoff=1.0, beta=0.1)
    outputs = [float(one_euro(v, i / FPS)) for i, v in enumerate(values)]
    tolerance = 1e-9 * max(1.0, max(abs(v) for v in values))
    assert min(values) - tolerance <= min(outputs) and max(outputs) <= max(values) + tolerance


def test_jitter_is_damped_when_still():
    rng = np.random.default_rng(1)
    noisy = 100 + rng.normal(0, 1.0, 90)
    one_euro = ar.OneEuroFilter(min_cutoff=1.0, beta=0.0)
    smooth = np.array([float(one_euro(v, i / FPS)) for i, v in enumerate(noisy)])
    assert smooth[15:].std() < 0.4 * noisy[15:].std()


def test_repeated_timestamps_do_not_break_it():
    one_euro = ar.OneEuroFilter()
    one_euro(1.0, 1.0)
    assert np.isfinite(one_euro(2.0, 1.0))
    assert np.isfinite(one_euro(3.0, 0.5))


def test_reset_forgets_history():
    one_euro = ar.OneEuroFilter()
    for i in range(10):
        one_euro(0.0, i / FPS)
    one_euro.reset()
    assert float(one_euro(50.0, 1.0)) == 50.0


def test_invalid_settings():
    with pytest.raises(ValueError):
        ar.OneEuroFilter(min_cutoff=0)


def test_placement_holds_still_but_follows_movement():
    rng = np.random.default_rng(2)
    smoother = ar.PlacementSmoother()
    # Still head: landmark noise of 1 % of the band's width.
    raw, smooth = [], []
    for i in range(60):
        placement = _placement(*(rng.normal(0, 1.2, 2) + (320, 200)))
        raw.append(_centre(placement))
        smooth.append(_centre(smoother.update([placement], i / FPS)[0]))
    assert np.std(smooth[15:], axis=0).max() < 0.5 * np.std(raw[15:], axis=0).min()
    # Head moving one band width per second: the crown keeps up within 5 % of its width.
    for i in range(60, 120):
        x = 320 + 120 * (i - 60) / FPS
        out = smoother.update([_placement(x, 200)], i / FPS)[0]
    assert abs(_centre(out)[0] - x) < 0.05 * 120


def test_face_lost_then_found_starts_afresh():
    smoother = ar.PlacementSmoother()
    for i in range(10):
        smoother.update([_placement(100, 100)], i / FPS)
    assert smoother.update([], 10 / FPS) == []
    jumped = smoother.update([_placement(400, 300)], 11 / FPS)[0]
    np.testing.assert_allclose(_centre(jumped), (400, 300))
    smoother.reset()
    again = smoother.update([_placement(10, 10)], 12 / FPS)[0]
    np.testing.assert_allclose(_centre(again), (10, 10))


def test_two_faces_keep_their_own_history_in_any_order():
    smoother = ar.PlacementSmoother()
    smoother.update([_placement(100, 100), _placement(500, 100)], 0.0)
    right, left = smoother.update([_placement(502, 100), _placement(98, 100)], 1 / FPS)
    assert 500 < _centre(right)[0] < 502 and 98 < _centre(left)[0] < 100


def test_angle_stays_continuous_through_180_degrees():
    smoother = ar.PlacementSmoother()
    smoother.update([_placement(100, 100, angle=179)], 0.0)
    out = smoother.update([_placement(100, 100, angle=-179)], 1 / FPS)[0]
    assert abs(abs(out.angle_deg) - 180) < 2


def test_smoothed_placement_keeps_its_shape():
    smoother = ar.PlacementSmoother()
    placement = _placement(200, 150, width=90, angle=20)
    for i in range(5):
        out = smoother.update([placement], i / FPS)[0]
    np.testing.assert_allclose(out.affine, placement.affine, atol=1e-9)
    assert out.spec == placement.spec and out.face_index == placement.face_index
