"""Compositing checked pixel by pixel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ar
from ar.placement import placement_from_band

RED = (255, 0, 0)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    image.flags.writeable = False
    return image


@pytest.fixture(scope="module")
def block() -> np.ndarray:
    """60x40 overlay: transparent, an opaque red 40x20 block, a half-transparent blue strip."""
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[10:30, 10:50] = (*RED, 255)
    rgba[32:36, 10:50] = (0, 0, 255, 128)
    return rgba


BLOCK_SPEC = ar.PieceSpec("crown", 100, (0, 39), (59, 39))


def _shifted(spec: ar.PieceSpec, dx: float, dy: float, zoom: float = 1.0, angle: float = 0.0):
    """Placement that moves the overlay by (dx, dy), scales it by zoom and turns it by angle."""
    turn = np.radians(angle)
    along = np.array([np.cos(turn), np.sin(turn)]) * zoom
    up = np.array([np.sin(turn), -np.cos(turn)]) * zoom
    left = np.array(spec.band_left) * zoom + (dx, dy)
    right = left + along * spec.band_length
    return placement_from_band(spec, left, right, up)


def _outside(box, shape) -> np.ndarray:
    mask = np.ones(shape[:2], bool)
    if box is not None:
        x0, y0, x1, y1 = box
        mask[y0:y1, x0:x1] = False
    return mask


def test_opaque_area_shows_the_piece_and_the_rest_is_untouched(frame, block):
    placement = _shifted(BLOCK_SPEC, 100, 50)
    out = ar.composite(frame, block, [placement])
    assert out is not frame and out.dtype == np.uint8 and out.shape == frame.shape
    # Integer shift at scale 1: the red block lands exactly at rows 60-80, columns 110-150.
    assert (out[60:80, 110:150] == RED).all()
    box = ar.overlay_box(placement, (60, 40), (300, 200))
    assert box == (100, 50, 160, 90)
    outside = _outside(box, frame.shape)
    np.testing.assert_array_equal(out[outside], frame[outside])
    # Fully transparent overlay pixels inside the box leave the frame exactly as it was.
    np.testing.assert_array_equal(out[50:60, 100:160], frame[50:60, 100:160])


def test_half_transparent_pixels_blend(frame, block):
    out = ar.composite(frame, block, [_shifted(BLOCK_SPEC, 100, 50)])
    region = frame[82:86, 110:150].astype(int)
    expected = (np.array([0, 0, 255]) * 128 + region * 127) / 255
    assert np.abs(out[82:86, 110:150] - expected).max() <= 1


def test_rotated_and_scaled_piece_only_touches_its_box(frame, block):
    placement = _shifted(BLOCK_SPEC, 120, 60, zoom=1.7, angle=30)
    out = ar.composite(frame, block, [placement])
    box = ar.overlay_box(placement, (60, 40), (300, 200))
    outside = _outside(box, frame.shape)
    assert outside.sum() > 0.5 * outside.size
    np.testing.assert_array_equal(out[outside], frame[outside])
    # The block's centre lands where the affine sends it, and is solid red there.
    x, y = placement.affine @ [30, 20, 1]
    assert tuple(out[round(y), round(x)]) == RED


@pytest.mark.parametrize(("dx", "dy"), [(-30, -20), (270, 180), (-30, 170), (250, -25)])
def test_piece_partly_outside_the_frame_is_clipped(frame, block, dx, dy):
    out = ar.composite(frame, block, [_shifted(BLOCK_SPEC, dx, dy)])
    # Red block in frame coordinates, clipped to the frame.
    x0, x1 = max(dx + 10, 0), min(dx + 50, 300)
    y0, y1 = max(dy + 10, 0), min(dy + 30, 200)
    assert x0 < x1 and y0 < y1
    assert (out[y0:y1, x0:x1] == RED).all()
    changed = (out != frame).any(axis=2)
    assert changed.sum() >= (x1 - x0) * (y1 - y0)


def test_piece_wholly_outside_the_frame_changes_nothing(frame, block):
    placements = [_shifted(BLOCK_SPEC, 400, 50), _shifted(BLOCK_SPEC, -100, -100)]
    np.testing.assert_array_equal(ar.composite(frame, block, placements), frame)
    assert ar.overlay_box(placements[0], (60, 40), (300, 200)) is None


def test_several_faces_and_in_place(frame, block):
    target = frame.copy()
    placements = [_shifted(BLOCK_SPEC, 10, 10), _shifted(BLOCK_SPEC, 200, 120)]
    result = ar.composite(target, ar.prepare_overlay(block), placements, inplace=True)
    assert result is target
    assert (target[20:40, 20:60] == RED).all() and (target[130:150, 210:250] == RED).all()


def test_tiny_piece_uses_a_smaller_copy_and_stays_solid(frame):
    big = np.zeros((800, 1200, 4), np.uint8)
    big[200:600, 200:1000] = (*RED, 255)
    spec = ar.PieceSpec("crown", 100, (0, 799), (1199, 799))
    placement = _shifted(spec, 50, 50, zoom=0.05)
    overlay = ar.prepare_overlay(big)
    assert len(overlay.levels) > 4
    out = ar.composite(frame, overlay, [placement])
    x, y = placement.affine @ [600, 400, 1]
    assert tuple(out[round(y), round(x)]) == RED


def test_rejects_wrong_arrays(frame, block):
    with pytest.raises(ValueError, match="frame"):
        ar.composite(frame[:, :, 0], block, [])
    with pytest.raises(ValueError, match="overlay"):
        ar.composite(frame, block[:, :, :3], [])


@given(
    dx=st.floats(-150, 350),
    dy=st.floats(-100, 250),
    zoom=st.floats(0.05, 4),
    angle=st.floats(-180, 180),
)
@settings(max_examples=80, deadline=None)
def test_nothing_outside_the_box_ever_changes(frame, block, dx, dy, zoom, angle):
    placement = _shifted(BLOCK_SPEC, dx, dy, zoom=zoom, angle=angle)
    out = ar.composite(frame, block, [placement])
    outside = _outside(ar.overlay_box(placement, (60, 40), (300, 200)), frame.shape)
    np.testing.assert_array_equal(out[outside], frame[outside])


def test_crown_lands_on_the_astronaut(still_engine, astronaut, crown_rgba, crown_spec):
    # The flat composite: exact colours, nothing outside the box (realism: test_realism*.py).
    result = still_engine.try_on(astronaut, crown_rgba, crown_spec, realism=None)
    (placement,) = result.placements
    # A point inside the crown's solid gold band shows gold.
    x, y = placement.affine @ [200, 225, 1]
    assert np.abs(result.image[round(y), round(x)].astype(int) - (212, 175, 55)).max() <= 2
    box = ar.overlay_box(placement, (400, 260), (512, 512))
    outside = _outside(box, astronaut.shape)
    np.testing.assert_array_equal(result.image[outside], astronaut[outside])
