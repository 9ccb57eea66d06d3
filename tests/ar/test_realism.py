"""Realism: light, perspective, occlusion and shadow, against golden images and by measurement.

Golden images live in tests/ar/golden/; regenerate them with
``.venv/bin/python -m tests.ar.realism_scenes --regen`` after a deliberate change (and look at
them). Each photo is detected once per module.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import structural_similarity

import ar
from ar.light import LUMA
from ar.occlusion import SEGMENT_SIDE, OcclusionSettings, _shrink, behind_head, segment_people
from ar.placement import band_frame, perspective_homography
from ar.render import RenderSettings, _inverse3, render
from tests.ar import realism_scenes as scenes
from tests.ar.conftest import rotation_for

# SSIM of a render against its golden image. Re-rendering with 0.05 px of noise on every
# landmark (far more than MediaPipe differs between machines) scores >= 0.988; the flat
# composite of the same scenes scores <= 0.975, so every golden test fails on the old renderer.
GOLDEN_SSIM = 0.985


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


@pytest.fixture(scope="module")
def detected(still_engine) -> dict[str, scenes.Detected]:
    return scenes.detect_all(still_engine)


@pytest.fixture(scope="module")
def crown() -> ar.Overlay:
    return ar.prepare_overlay(scenes._crown_rgba())


@pytest.mark.parametrize("name", sorted(scenes.SCENES))
def test_render_matches_its_golden_image(detected, name):
    assert ssim(scenes.render_scene(name, detected), scenes.load_golden(name)) >= GOLDEN_SSIM


@pytest.mark.parametrize("name", sorted(scenes.SCENES))
def test_the_flat_composite_fails_the_golden_image(detected, name):
    flat = scenes.render_scene(name, detected, settings=None)
    assert ssim(flat, scenes.load_golden(name)) < GOLDEN_SSIM


def test_the_photos_are_what_the_scenes_claim(detected):
    (frontal,) = detected["astronaut"].faces
    (turned,) = detected["camera"].faces
    assert abs(frontal.yaw_deg) < 10
    assert turned.yaw_deg > 30, "the cameraman's head is turned well away from the camera"
    assert detected["camera"].people is not None


def _piece_mask(placement: ar.Placement, rgba: np.ndarray, shape) -> np.ndarray:
    """Frame pixels the flat piece covers solidly."""
    alpha = cv2.warpAffine(rgba[:, :, 3], placement.affine, (shape[1], shape[0]))
    return alpha > 250


def _piece_luma(image: np.ndarray, mask: np.ndarray) -> float:
    return float((image[mask].astype(np.float32) @ LUMA).mean())


def test_a_darker_photo_gives_a_darker_piece(detected, crown):
    bright = detected["astronaut"]
    faces = bright.faces
    placements = [ar.place_piece(faces[0], scenes.CROWN)]
    dim = (bright.rgb.astype(np.float32) * 0.5).astype(np.uint8)
    light_only = scenes.LIGHT
    on_bright = render(bright.rgb, crown, placements, faces, settings=light_only)
    on_dim = render(dim, crown, placements, faces, settings=light_only)
    mask = _piece_mask(placements[0], scenes._crown_rgba(), bright.rgb.shape)
    assert mask.sum() > 1000
    # The same geometry on a photo at half brightness: the piece is at least 25% darker.
    assert _piece_luma(on_dim, mask) <= 0.75 * _piece_luma(on_bright, mask)
    # ...but its highlights are kept: not simply halved like the photo.
    assert _piece_luma(on_dim, mask) > 0.5 * _piece_luma(on_bright, mask)


def test_a_blue_cast_on_the_face_gives_a_bluer_piece(detected, crown):
    photo = detected["astronaut"]
    placements = [ar.place_piece(photo.faces[0], scenes.CROWN)]
    cool = np.clip(photo.rgb * np.array([0.85, 0.95, 1.15]), 0, 255).astype(np.uint8)
    mask = _piece_mask(placements[0], scenes._crown_rgba(), photo.rgb.shape)

    def blue_over_red(frame: np.ndarray) -> float:
        image = render(frame, crown, placements, photo.faces, settings=scenes.LIGHT)
        mean = image[mask].astype(np.float64).mean(axis=0)
        return mean[2] / mean[0]

    assert blue_over_red(cool) > 1.1 * blue_over_red(photo.rgb)


def _end_heights(homography: np.ndarray, spec: ar.PieceSpec) -> tuple[float, float]:
    """Screen height of the piece's left and right ends (band point to 200 PNG px above)."""
    heights = []
    for x, y in (spec.band_left, spec.band_right):
        points = np.array([[x, y, 1.0], [x, y - 200, 1.0]]) @ homography.T
        points = points[:, :2] / points[:, 2:]
        heights.append(float(np.linalg.norm(points[0] - points[1])))
    return heights[0], heights[1]


@pytest.mark.parametrize("yaw", [30.0, -30.0])
def test_the_far_end_is_foreshortened_at_30_degrees_yaw(synthetic_face, yaw):
    face = ar.measure_face(synthetic_face(yaw=yaw), (640, 480))
    placement = ar.place_piece(face, scenes.CROWN)
    left, right = _end_heights(perspective_homography(placement, face.rotation), scenes.CROWN)
    # Positive yaw sends the face's left (the image's right) away from the camera.
    near, far = (left, right) if yaw > 0 else (right, left)
    assert far < 0.9 * near
    # The affine alone draws both ends the same height.
    flat = np.vstack((placement.affine, [0, 0, 1]))
    flat_left, flat_right = _end_heights(flat, scenes.CROWN)
    assert flat_left == pytest.approx(flat_right, rel=1e-6)


def test_a_frontal_head_has_no_foreshortening_and_the_band_stays_put(synthetic_face):
    face = ar.measure_face(synthetic_face(), (640, 480))
    placement = ar.place_piece(face, scenes.CROWN)
    homography = perspective_homography(placement, face.rotation)
    left, right = _end_heights(homography, scenes.CROWN)
    assert left == pytest.approx(right, rel=0.01)
    # Far away, the perspective homography becomes the placement's affine.
    distant = perspective_homography(placement, face.rotation, camera_distance_mm=1e9)
    np.testing.assert_allclose(distant[:2], placement.affine, atol=1e-4)
    np.testing.assert_allclose(distant[2], [0, 0, 1], atol=1e-9)


def _along_mm(placement: ar.Placement, face: ar.FaceMeasurement, shape) -> np.ndarray:
    """Mm along the band of every frame pixel, through the perspective homography."""
    to_band = band_frame(placement.spec) @ np.linalg.inv(
        perspective_homography(placement, face.rotation)
    )
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    points = np.stack((xs, ys, np.ones_like(xs)), axis=-1) @ to_band.T
    return points[:, :, 0] / points[:, :, 2]


@pytest.mark.parametrize("spec", [scenes.CROWN, scenes.TIARA], ids=["crown", "tiara"])
def test_occlusion_hides_the_far_end_and_never_cuts_the_front(detected, crown, spec):
    photo = detected["camera"]
    (face,) = photo.faces
    placement = ar.place_piece(face, spec)
    whole = render(photo.rgb, crown, [placement], photo.faces, settings=scenes.PERSPECTIVE)
    hidden = render(
        photo.rgb, crown, [placement], photo.faces, people=photo.people, settings=scenes.OCCLUSION
    )
    changed = np.abs(whole.astype(int) - hidden.astype(int)).max(axis=2) > 0
    along = _along_mm(placement, face, photo.rgb.shape) / (spec.width_mm / 2)
    front = np.abs(along) <= OcclusionSettings().front_fraction
    assert changed.sum() > 100, "something is hidden on a head turned 50 degrees"
    assert not (changed & front).any(), "the front of the piece is never cut"
    # The far end goes behind the head (the image's right: the cameraman faces right)...
    assert (changed & (along > 0.8)).sum() > 50
    if spec.kind == "crown":
        assert not (changed & (along < 0)).any(), "a crown's near end stays in view"
    else:
        # ...and a tiara's near end tucks into his hair.
        assert (changed & (along < -0.8)).sum() > 50


@given(yaw=st.floats(-89, 89), pitch=st.floats(-60, 60), roll=st.floats(-180, 180))
@settings(max_examples=60, deadline=None)
def test_the_head_model_never_hides_the_front(yaw, pitch, roll):
    rotation = rotation_for(roll, yaw, pitch)
    front = np.linspace(-0.5, 0.5, 41) * 65.0
    assert behind_head(front, 65.0, rotation, OcclusionSettings()).max() == 0.0


def test_a_frontal_head_hides_nothing(synthetic_face):
    rotation = ar.measure_face(synthetic_face(), (640, 480)).rotation
    along = np.linspace(-75, 75, 301)
    assert behind_head(along, 75.0, rotation, OcclusionSettings()).max() == 0.0


def _darkening(render_with, render_without) -> float:
    return float((render_without.astype(np.float32) - render_with.astype(np.float32)).sum())


def test_the_shadow_falls_under_the_band_and_fades_with_the_light(detected, crown):
    photo = detected["astronaut"]
    faces = photo.faces
    placements = [ar.place_piece(faces[0], scenes.CROWN)]
    dim = (photo.rgb.astype(np.float32) * 0.5).astype(np.uint8)
    shadow = RenderSettings(light=None, perspective=False, occlusion=None)
    darkened = []
    for frame in (photo.rgb, dim):
        without = render(frame, crown, placements, faces, settings=scenes.OFF)
        with_shadow = render(frame, crown, placements, faces, people=photo.people, settings=shadow)
        assert (with_shadow <= without).all(), "a shadow only darkens"
        darkened.append(_darkening(with_shadow, without) / float(frame.astype(np.float32).sum()))
    assert darkened[0] > 0
    # Relative to the photo, dim light casts a fainter shadow.
    assert darkened[1] < 0.8 * darkened[0]


def test_render_refuses_what_is_not_a_frame(crown):
    with pytest.raises(ValueError, match="frame"):
        render(np.zeros((10, 10), np.uint8), crown, [], [])


class _OneFace:
    """A landmarker that always finds the same synthetic face."""

    def __init__(self, points: np.ndarray) -> None:
        self.points = points

    def detect(self, rgb):
        return [self]

    def reset(self):
        pass

    def close(self):
        pass


def test_only_tiara_photos_build_the_segmenter(
    synthetic_face, frame_640, crown_spec, tiara_spec, crown_rgba
):
    built = []

    def factory():
        built.append(True)
        raise RuntimeError("no segmenter here")

    engine = ar.TryOnEngine(_OneFace(synthetic_face()), segmenter_factory=factory)
    # What a live frame does: measure and place, nothing drawn.
    assert len(engine.place(frame_640, crown_spec)) == 1
    assert engine.try_on(frame_640, crown_rgba, crown_spec, realism=None).faces
    # A crown's occlusion needs only the head model.
    assert engine.try_on(frame_640, crown_rgba, crown_spec).faces
    assert built == []
    # A realistic photo of a tiara is the only thing that segments.
    with pytest.raises(RuntimeError, match="no segmenter"):
        engine.try_on(frame_640, crown_rgba, tiara_spec)
    assert built == [True]
    engine.close()


def test_the_segmenter_sees_a_small_copy_of_the_heads_and_its_answer_covers_their_box(
    synthetic_face,
):
    face = ar.measure_face(synthetic_face(px_per_mm=4.0, centre=(500.0, 500.0)), (1000, 1000))
    seen = []

    def segment(crop: np.ndarray) -> np.ndarray:
        seen.append(crop.shape)
        return np.ones(crop.shape[:2], np.float32)

    people = segment_people(segment, np.zeros((1000, 1000, 3), np.uint8), [face])
    x0, y0, x1, y1 = people.box
    assert max(x1 - x0, y1 - y0) > 2 * SEGMENT_SIDE, "the heads' box is large in this photo"
    (shape,) = seen
    assert max(shape[:2]) == SEGMENT_SIDE
    assert people.mask.shape == (y1 - y0, x1 - x0)


def test_the_copy_for_the_segmenter_is_filtered_not_just_sampled():
    # One-pixel stripes: a filtered shrink is even grey, a bare bilinear one keeps stripes.
    stripes = np.zeros((800, 1000, 3), np.uint8)
    stripes[:, ::2] = 255
    small = _shrink(stripes, (256, 205))
    assert small.shape == (205, 256, 3)
    assert small.std() < 2
    assert cv2.resize(stripes, (256, 205), interpolation=cv2.INTER_LINEAR).std() > 50


@given(st.lists(st.floats(-10, 10), min_size=9, max_size=9))
@settings(max_examples=30, deadline=None)
def test_the_render_inverts_a_homography_as_numpy_does(values):
    matrix = np.array(values).reshape(3, 3)
    if abs(np.linalg.det(matrix)) < 1e-3:
        return
    np.testing.assert_allclose(_inverse3(matrix), np.linalg.inv(matrix), rtol=1e-6, atol=1e-6)
