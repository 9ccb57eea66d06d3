"""The engine on real photographs and transformed copies, with MediaPipe doing the detection."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

import ar

EYES = (33, 133, 263, 362, 468, 473)
# MediaPipe's landmarks shift by up to about 4 px (4 % of this band) when the same face sits
# elsewhere in a differently sized frame, so invariance checks allow 6 % of the band's width.
SHIFT_TOLERANCE = 0.06
MOUTH = (13, 14, 61, 291)


def _band(placement: ar.Placement) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    left, right = np.array(placement.band_left), np.array(placement.band_right)
    return left, right, (left + right) / 2


def _only(items):
    assert len(items) == 1, f"expected one face, found {len(items)}"
    return items[0]


def _rotated(image: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)
    return cv2.warpAffine(image, matrix, (width, height)), matrix


@pytest.fixture(scope="module")
def reference(still_engine, astronaut, crown_spec):
    face = _only(still_engine.measure(astronaut))
    return face, _only(still_engine.place([face], crown_spec))


def test_finds_the_astronaut_with_all_landmarks(still_engine, astronaut, reference):
    rgb, faces = still_engine.landmarks(astronaut)
    assert rgb is astronaut
    assert len(faces) == 1 and faces[0].shape == (478, 3)
    face, placement = reference
    assert abs(face.roll_deg) < 10 and abs(face.yaw_deg) < 15 and abs(face.pitch_deg) < 20
    assert face.scale_source == "iris"
    assert 110 < face.head_width_mm < 160
    assert 480 < face.head_circumference_mm < 640
    x, y, w, h = face.bbox
    assert 150 < x < 220 and 40 < y < 110 and 70 < w < 130 and 80 < h < 140
    # 150 mm at this scale (less a trace of yaw), and level with the eyes.
    assert placement.width_px == pytest.approx(150 / face.mm_per_px, rel=1e-3)
    assert placement.angle_deg == pytest.approx(face.roll_deg, abs=3)


def test_no_face_in_a_photo_of_coffee(still_engine, coffee, crown_spec):
    assert still_engine.measure(coffee) == []
    assert still_engine.place(coffee, crown_spec) == []


@pytest.mark.parametrize("form", ["grey", "bgr", "rgba", "bgra"])
def test_accepts_grey_bgr_and_rgba(still_engine, astronaut, crown_spec, reference, form):
    image, order = {
        "grey": (cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY), "rgb"),
        "bgr": (cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR), "bgr"),
        "rgba": (cv2.cvtColor(astronaut, cv2.COLOR_RGB2RGBA), "rgb"),
        "bgra": (cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGRA), "bgr"),
    }[form]
    placement = _only(still_engine.place(image, crown_spec, channel_order=order))
    tolerance = SHIFT_TOLERANCE * reference[1].width_px
    for got, want in zip(_band(placement), _band(reference[1]), strict=True):
        assert np.linalg.norm(got - want) < tolerance


@pytest.mark.parametrize("angle", [-30, 15, 40])
def test_rotating_the_image_turns_the_band_by_the_same_angle(
    still_engine, astronaut, crown_spec, reference, angle
):
    image, matrix = _rotated(astronaut, angle)
    face = _only(still_engine.measure(image))
    placement = _only(still_engine.place([face], crown_spec))
    # A counter-clockwise image rotation is a negative angle in y-down image coordinates.
    turn = (placement.angle_deg - reference[1].angle_deg + angle + 180) % 360 - 180
    assert abs(turn) < 3
    assert (face.roll_deg - reference[0].roll_deg + angle + 180) % 360 - 180 == pytest.approx(
        0, abs=3
    )
    expected_centre = matrix @ [*_band(reference[1])[2], 1.0]
    distance = np.linalg.norm(_band(placement)[2] - expected_centre)
    assert distance < SHIFT_TOLERANCE * reference[1].width_px


def test_halving_the_image_halves_the_band_and_keeps_the_head_size(
    still_engine, astronaut, crown_spec, reference
):
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    face = _only(still_engine.measure(small))
    placement = _only(still_engine.place([face], crown_spec))
    assert placement.width_px / reference[1].width_px == pytest.approx(0.5, rel=0.05)
    assert face.head_width_mm == pytest.approx(reference[0].head_width_mm, rel=0.05)
    # Pixel centres: x_small = (x + 0.5) / 2 - 0.5.
    expected_centre = (_band(reference[1])[2] + 0.5) / 2 - 0.5
    assert (
        np.linalg.norm(_band(placement)[2] - expected_centre) < SHIFT_TOLERANCE * placement.width_px
    )


def test_large_images_are_detected_on_a_smaller_copy_and_mapped_back(
    still_engine, astronaut, crown_spec, reference
):
    big = cv2.resize(astronaut, (2560, 2560), interpolation=cv2.INTER_CUBIC)
    face = _only(still_engine.measure(big))
    placement = _only(still_engine.place([face], crown_spec))
    assert placement.width_px / reference[1].width_px == pytest.approx(5, rel=0.05)
    expected_centre = (_band(reference[1])[2] + 0.5) * 5 - 0.5
    assert np.linalg.norm(_band(placement)[2] - expected_centre) < 0.05 * placement.width_px


def test_translating_the_image_moves_the_band_by_the_same_offset(
    still_engine, astronaut, crown_spec, reference
):
    canvas = np.full((700, 800, 3), 40, np.uint8)
    offset = np.array([170, 95])
    canvas[95:607, 170:682] = astronaut
    placement = _only(still_engine.place(canvas, crown_spec))
    for got, want in zip(_band(placement), _band(reference[1]), strict=True):
        assert np.linalg.norm(got - (want + offset)) < SHIFT_TOLERANCE * reference[1].width_px


def test_mirroring_the_image_mirrors_the_placement(still_engine, astronaut, crown_spec, reference):
    face = _only(still_engine.measure(astronaut[:, ::-1]))
    placement = _only(still_engine.place([face], crown_spec))
    left, right, _ = _band(reference[1])
    tolerance = SHIFT_TOLERANCE * reference[1].width_px
    # The PNG is not flipped, so the mirrored band's left end is the original's right end.
    assert np.linalg.norm(np.array(placement.band_left) - (511 - right[0], right[1])) < tolerance
    assert np.linalg.norm(np.array(placement.band_right) - (511 - left[0], left[1])) < tolerance
    assert face.roll_deg == pytest.approx(-reference[0].roll_deg, abs=2)
    assert face.yaw_deg == pytest.approx(-reference[0].yaw_deg, abs=3)


# MediaPipe itself loses upside-down faces; buyers tilt their heads far less than 60 degrees.
@pytest.mark.parametrize("angle", [0, 35, -60])
@pytest.mark.parametrize("kind", ["crown", "tiara"])
def test_band_sits_above_the_eyes_never_over_eyes_or_mouth(
    still_engine, astronaut, crown_rgba, crown_spec, tiara_spec, angle, kind
):
    spec = crown_spec if kind == "crown" else tiara_spec
    image, _ = _rotated(astronaut, angle)
    rgb, (points,) = still_engine.landmarks(image)
    face = ar.measure_face(points, (512, 512))
    placement = ar.place_piece(face, spec)
    # The face's own up, from the landmarks alone: mouth to eyes.
    eyes = points[list(EYES), :2].mean(axis=0)
    mouth = points[list(MOUTH), :2].mean(axis=0)
    up = (eyes - mouth) / np.linalg.norm(eyes - mouth)
    brow_height = max((points[i, :2] - eyes) @ up for i in (70, 105, 107, 300, 334, 336))
    for end in _band(placement):
        assert (end - eyes) @ up > brow_height
    # The warped piece covers no eye or mouth landmark.
    coverage = cv2.warpAffine(
        np.ascontiguousarray(crown_rgba[:, :, 3]), placement.affine, (512, 512)
    )
    for index in EYES + MOUTH:
        x, y = np.rint(points[index, :2]).astype(int)
        assert coverage[y, x] == 0


def test_finds_a_small_face_with_the_full_range_detector(still_engine, small_face_frame):
    face = _only(still_engine.measure(small_face_frame))
    x, y, w, h = face.bbox
    assert 45 < w < 80, "the face should be about 60 px across"
    # Pasted at (250, 100) with scale 330/512: the astronaut's face is around (395, 175).
    assert abs(x + w / 2 - 395) < 20 and abs(y + h / 2 - 180) < 25
    assert face.confidence_level == "low"


def test_small_face_in_a_large_photo_is_measured_at_full_resolution(still_engine, astronaut):
    canvas = np.full((2400, 3200, 3), 96, np.uint8)
    canvas[1000:1900, 2000:2900] = cv2.resize(astronaut, (900, 900), interpolation=cv2.INTER_AREA)
    # The face is ~160 px here but ~64 px in the 1280 px copy searched, too small for the mesh.
    face = _only(still_engine.measure(canvas))
    x, y, w, h = face.bbox
    assert abs(x - 2313) < 10 and abs(y - 1123) < 10 and abs(w - 165) < 10
    # The iris is measured on a crop of the full photo: ~15 px wide, enough for high confidence.
    assert face.scale_source == "iris" and face.confidence_level == "high"


def test_small_faces_are_missed_without_the_full_range_detector(small_face_frame):
    with ar.create_engine("still", max_faces=1, small_faces=False) as engine:
        assert engine.measure(small_face_frame) == []


def test_video_mode_tracks_a_moving_face(video_engine, frame_640, crown_spec):
    centres = []
    for step in range(8):
        frame = np.roll(frame_640, 4 * step, axis=1)
        placement = _only(video_engine.place(frame, crown_spec))
        centres.append(_band(placement)[2])
    moves = np.diff(np.array(centres)[:, 0])
    assert np.all(np.abs(moves - 4) < 2)
    video_engine.reset()
    assert len(video_engine.measure(frame_640)) == 1


def test_video_mode_keeps_a_small_face(video_engine, small_face_frame):
    found = [len(video_engine.measure(small_face_frame)) for _ in range(20)]
    assert found == [1] * 20


def test_two_faces_largest_first(still_engine, astronaut, crown_spec):
    smaller = cv2.resize(astronaut, (384, 384), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((512, 896, 3), np.uint8)
    canvas[:, :512] = astronaut
    canvas[64:448, 512:896] = smaller
    faces = still_engine.measure(canvas)
    assert len(faces) == 2
    assert faces[0].bbox[0] < 400 < faces[1].bbox[0]
    document = ar.faces_json(faces, still_engine.place(faces, crown_spec))
    assert [set(f) >= {"band_left", "band_right"} for f in document["faces"]] == [True, True]


def test_try_on_result_json_matches_the_helper(still_engine, astronaut, crown_rgba, crown_spec):
    result = still_engine.try_on(astronaut, crown_rgba, crown_spec)
    document = result.to_json()
    assert document == ar.faces_json(result.faces, result.placements)
    (face,) = document["faces"]
    assert face["band_left"][0] < face["band_right"][0]
    with pytest.raises(ar.InvalidSpec):
        small_overlay = np.ascontiguousarray(crown_rgba[:100, :100])
        still_engine.try_on(astronaut, small_overlay, crown_spec)


def test_engine_may_be_shared_by_threads(still_engine, astronaut, frame_640, reference):
    images = [astronaut, frame_640]
    expected = [_only(still_engine.measure(image)).bbox for image in images]
    results: list[tuple[int, tuple[int, int, int, int]]] = []
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(6):
                which = (seed + i) % 2
                results.append((which, _only(still_engine.measure(images[which])).bbox))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 24
    for which, bbox in results:
        assert np.abs(np.subtract(bbox, expected[which])).max() <= 2


def test_closed_engine_refuses_work(astronaut):
    engine = ar.create_engine("still", max_faces=1, small_faces=False)
    engine.close()
    engine.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        engine.measure(astronaut)


def test_rejects_non_images(still_engine):
    with pytest.raises(ar.InvalidImage, match="too small"):
        still_engine.measure(np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(ar.InvalidImage):
        still_engine.measure(np.zeros((64, 64, 5), np.uint8))
