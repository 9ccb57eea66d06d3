"""Pose, scale, measurement and placement maths on synthetic landmarks with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ar
from ar.headsize import REGRESSION
from ar.placement import SEATS, placement_from_band
from ar.pose import estimate_pose
from ar.scale import TYPICAL_IPD_MM, estimate_scale

CANONICAL_HEAD_WIDTH_MM = 153.2  # landmarks 234 to 454 on the canonical face


@pytest.mark.parametrize(
    ("roll", "yaw", "pitch"),
    [(0, 0, 0), (30, 0, 0), (-70, 0, 0), (0, 25, 0), (0, -40, 0), (0, 0, 20), (0, 0, -15)],
)
def test_pose_recovers_single_axis_angles(synthetic_face, roll, yaw, pitch):
    pose = estimate_pose(synthetic_face(roll=roll, yaw=yaw, pitch=pitch))
    assert pose.roll_deg == pytest.approx(roll, abs=1e-6)
    assert pose.yaw_deg == pytest.approx(yaw, abs=1e-6)
    assert pose.pitch_deg == pytest.approx(pitch, abs=1e-6)
    assert pose.fit_error < 1e-9


@given(
    roll=st.floats(-170, 170),
    yaw=st.floats(-45, 45),
    pitch=st.floats(-30, 30),
    px_per_mm=st.floats(0.2, 5),
)
@settings(max_examples=60, deadline=None)
def test_pose_combined_angles(synthetic_face, roll, yaw, pitch, px_per_mm):
    pose = estimate_pose(synthetic_face(roll=roll, yaw=yaw, pitch=pitch, px_per_mm=px_per_mm))
    assert pose.roll_deg == pytest.approx(roll, abs=1e-6)
    assert pose.yaw_deg == pytest.approx(yaw, abs=1e-6)
    # Pitch is measured as the chin axis' elevation, which a turned head shrinks by cos(yaw).
    expected_pitch = math.degrees(
        math.asin(math.cos(math.radians(yaw)) * math.sin(math.radians(pitch)))
    )
    assert pose.pitch_deg == pytest.approx(expected_pitch, abs=1e-6)


def test_pose_signs_match_what_the_image_shows(synthetic_face):
    def nose_offset(points):
        ears = (points[234] + points[454]) / 2
        return points[1, :2] - ears[:2]

    frontal = nose_offset(synthetic_face())
    # Turned to the subject's own left: the nose moves towards the image's right.
    assert nose_offset(synthetic_face(yaw=20))[0] > frontal[0] + 5
    # Chin raised: the nose tip rises on screen relative to the ears.
    assert nose_offset(synthetic_face(pitch=20))[1] < frontal[1] - 5
    # Positive roll is clockwise on screen: the subject's left eye (landmark 263) drops.
    rolled = synthetic_face(roll=20)
    assert rolled[263, 1] > rolled[33, 1] + 5


def test_scale_from_iris_corrects_for_yaw(synthetic_face):
    for yaw in (0, 20, -30):
        points = synthetic_face(yaw=yaw, px_per_mm=0.8)
        scale = estimate_scale(points, estimate_pose(points))
        assert scale.source == "iris"
        assert scale.mm_per_px == pytest.approx(1 / 0.8, rel=1e-6)


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"px_per_mm": 0.35}, "too small"),
        ({"iris_mm": (11.7, 16.0)}, "disagree"),
        ({"yaw": 40}, "turned"),
        ({"iris_mm": (17.0, 17.0)}, "implausible"),
    ],
)
def test_scale_falls_back_to_eye_spacing(synthetic_face, options, reason):
    points = synthetic_face(**options)
    scale = estimate_scale(points, estimate_pose(points))
    assert scale.source == "ipd"
    assert reason in scale.reason
    # The synthetic eyes are 63.1 mm apart; the fallback assumes 63.
    px_per_mm = options.get("px_per_mm", 0.7)
    assert scale.mm_per_px == pytest.approx(TYPICAL_IPD_MM / 63.1 / px_per_mm, rel=1e-3)


def test_measure_face_reports_true_head_width(synthetic_face):
    measurement = ar.measure_face(synthetic_face(yaw=20, px_per_mm=2.0), (640, 480))
    assert measurement.head_width_mm == pytest.approx(CANONICAL_HEAD_WIDTH_MM, rel=1e-3)
    assert measurement.head_circumference_mm == pytest.approx(
        REGRESSION.intercept + REGRESSION.slope * measurement.head_width_mm
    )
    low, high = measurement.head_circumference_range_mm
    assert low < measurement.head_circumference_mm < high
    assert measurement.scale_source == "iris"
    # Turned 20 degrees: not "high", and the reason says why.
    assert measurement.confidence_level == "medium"
    assert "turned" in measurement.confidence_reason


def test_measurement_confidence(synthetic_face):
    close_frontal = ar.measure_face(synthetic_face(px_per_mm=2.0), (2000, 2000))
    assert close_frontal.confidence_level == "high"
    far = ar.measure_face(synthetic_face(px_per_mm=0.35), (640, 480))
    assert far.confidence_level == "low" and far.scale_source == "ipd"


def test_measurement_json_has_exactly_the_cli_keys(synthetic_face):
    measurement = ar.measure_face(synthetic_face(), (640, 480))
    document = ar.faces_json([measurement])
    assert list(document) == ["faces"]
    assert list(document["faces"][0]) == [
        "bbox",
        "roll_deg",
        "yaw_deg",
        "pitch_deg",
        "mm_per_px",
        "scale_source",
        "head_width_mm",
        "head_circumference_mm",
        "head_circumference_range_mm",
    ]
    x, y, w, h = document["faces"][0]["bbox"]
    assert all(isinstance(v, int) for v in (x, y, w, h)) and x >= 0 and x + w <= 640


def test_bbox_is_clipped_to_the_image(synthetic_face):
    measurement = ar.measure_face(synthetic_face(centre=(10.0, 10.0)), (640, 480))
    x, y, w, h = measurement.bbox
    assert (x, y) == (0, 0) and w > 0 and h > 0


# Placement ----------------------------------------------------------------------------------


def _face_up(points: np.ndarray) -> np.ndarray:
    """Unit vector from the mouth to the eyes: the face's own up, independent of ar.pose."""
    eyes = (points[33, :2] + points[263, :2]) / 2
    mouth = (points[98, :2] + points[327, :2]) / 2
    return (eyes - mouth) / np.linalg.norm(eyes - mouth)


def test_crown_shows_at_true_width_above_the_forehead(synthetic_face, crown_spec):
    points = synthetic_face(px_per_mm=0.8)
    placement = ar.place_piece(ar.measure_face(points, (640, 480)), crown_spec)
    assert placement.width_px == pytest.approx(150 * 0.8, rel=1e-6)
    assert placement.angle_deg == pytest.approx(0, abs=1e-6)
    centre = np.add(placement.band_left, placement.band_right) / 2
    lift = (points[10, 1] - centre[1]) / 0.8
    assert lift == pytest.approx(SEATS["crown"].up_mm, rel=1e-6)


def test_placement_follows_roll_and_foreshortens_with_yaw(synthetic_face, crown_spec):
    rolled = ar.place_piece(ar.measure_face(synthetic_face(roll=25), (640, 480)), crown_spec)
    assert rolled.angle_deg == pytest.approx(25, abs=1e-6)
    assert rolled.width_px == pytest.approx(150 * 0.7, rel=1e-6)
    turned = ar.place_piece(ar.measure_face(synthetic_face(yaw=30), (640, 480)), crown_spec)
    assert turned.width_px == pytest.approx(150 * 0.7 * math.cos(math.radians(30)), rel=1e-6)


def test_tiara_sits_further_up_than_a_crown(synthetic_face, crown_spec, tiara_spec):
    points = synthetic_face(roll=-15, pitch=-10)
    measurement = ar.measure_face(points, (640, 480))
    up = _face_up(points)

    def height(placement):
        return float(np.add(placement.band_left, placement.band_right) / 2 @ up)

    crown = ar.place_piece(measurement, crown_spec)
    tiara = ar.place_piece(measurement, tiara_spec)
    assert height(tiara) > height(crown) > float(points[10, :2] @ up)


def test_affine_maps_the_png_band_onto_the_placement(synthetic_face, crown_spec):
    measurement = ar.measure_face(synthetic_face(roll=10, yaw=15, pitch=5), (640, 480))
    placement = ar.place_piece(measurement, crown_spec)
    affine = placement.affine
    for png, image in (
        (crown_spec.band_left, placement.band_left),
        (crown_spec.band_right, placement.band_right),
    ):
        np.testing.assert_allclose(affine @ [*png, 1.0], image, atol=1e-9)
    # One PNG pixel straight up moves by `up` on screen.
    above = np.add(crown_spec.band_left, (0, -1))
    np.testing.assert_allclose(
        affine @ [*above, 1.0], np.add(placement.band_left, placement.up), atol=1e-9
    )


def test_placement_from_band_handles_a_slanted_png_band(crown_spec):
    spec = ar.PieceSpec("crown", 150, (10, 50), (110, 30))
    placement = placement_from_band(spec, np.array([0.0, 0.0]), np.array([200.0, 0.0]), (0, -2))
    np.testing.assert_allclose(placement.affine @ [10, 50, 1], [0, 0], atol=1e-9)
    np.testing.assert_allclose(placement.affine @ [110, 30, 1], [200, 0], atol=1e-9)


# Spec validation ----------------------------------------------------------------------------

GOOD_SPEC = {"kind": "crown", "width_mm": 150, "band_left": [20, 239], "band_right": [379, 239]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "hat"}, "kind"),
        ({"width_mm": "150"}, "width_mm"),
        ({"width_mm": True}, "width_mm"),
        ({"width_mm": 0}, "width_mm"),
        ({"width_mm": float("nan")}, "width_mm"),
        ({"band_left": [20]}, "band_left"),
        ({"band_left": "20,239"}, "band_left"),
        ({"band_right": [float("inf"), 3]}, "band_right"),
        ({"band_right": [-1, 3]}, "band_right"),
        ({"band_right": [10, 239]}, "right of band_left"),
    ],
)
def test_spec_rejects_bad_values(change, message):
    with pytest.raises(ar.InvalidSpec, match=message):
        ar.PieceSpec.from_dict({**GOOD_SPEC, **change})


def test_spec_rejects_missing_fields_and_bad_json():
    with pytest.raises(ar.InvalidSpec, match="missing width_mm, band_right"):
        ar.PieceSpec.from_dict({"kind": "crown", "band_left": [1, 2]})
    with pytest.raises(ar.InvalidSpec, match="JSON object"):
        ar.PieceSpec.from_dict([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ar.InvalidSpec, match="not valid JSON"):
        ar.PieceSpec.from_json("{kind: crown")
    assert isinstance(ar.InvalidSpec("x"), ValueError)


def test_spec_round_trips_and_checks_the_overlay():
    spec = ar.PieceSpec.from_dict(GOOD_SPEC)
    assert ar.PieceSpec.from_dict(spec.to_dict()) == spec
    assert spec.band_length == pytest.approx(359)
    spec.check_overlay((400, 260))
    with pytest.raises(ar.InvalidSpec, match="outside the 300x200 overlay"):
        spec.check_overlay((300, 200))


def _reference_pose(points: np.ndarray) -> tuple[float, float, float, float, np.ndarray]:
    """Umeyama's fit written with numpy's own mean, det and clip (estimate_pose avoids them)."""
    from ar.pose import _INDICES, _MODEL_CENTRED, _MODEL_VARIANCE

    observed = points[_INDICES] - points[_INDICES].mean(axis=0)
    u, singular, vt = np.linalg.svd(observed.T @ _MODEL_CENTRED / len(_MODEL_CENTRED))
    d = np.array([1.0, 1.0, math.copysign(1.0, np.linalg.det(u) * np.linalg.det(vt))])
    rotation = (u * d) @ vt
    scale = float((singular * d).sum() / _MODEL_VARIANCE)
    residual = observed - scale * _MODEL_CENTRED @ rotation.T
    fit = float(np.sqrt((residual**2).sum(axis=1).mean()) / (scale * math.sqrt(_MODEL_VARIANCE)))
    return (
        math.degrees(math.atan2(rotation[1, 0], rotation[0, 0])),
        math.degrees(math.asin(float(np.clip(rotation[2, 0], -1, 1)))),
        math.degrees(math.asin(float(np.clip(-rotation[2, 1], -1, 1)))),
        fit,
        rotation,
    )


@pytest.mark.parametrize("mirrored", [False, True])
def test_pose_fit_matches_the_plain_numpy_steps(synthetic_face, mirrored):
    rng = np.random.default_rng(5)
    points = synthetic_face(roll=12, yaw=-20, pitch=8) + rng.normal(0, 1.5, (478, 3))
    if mirrored:  # a mirror image: the fit must still be a proper rotation
        points[:, 2] *= -1
    pose = estimate_pose(points)
    roll, yaw, pitch, fit, rotation = _reference_pose(points)
    assert (pose.roll_deg, pose.yaw_deg, pose.pitch_deg) == pytest.approx((roll, yaw, pitch))
    assert pose.fit_error == pytest.approx(fit)
    np.testing.assert_allclose(pose.rotation, rotation, atol=1e-12)
    assert np.linalg.det(pose.rotation) == pytest.approx(1.0)
