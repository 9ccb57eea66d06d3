"""Place a crown or tiara on a measured face as an affine transform of its PNG."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ar.measurement import FaceMeasurement

PieceKind = Literal["crown", "tiara"]
MIN_WIDTH_MM = 20.0
MAX_WIDTH_MM = 400.0

# Top centre of the face mesh, at about the hairline.
FOREHEAD_TOP = 10


class InvalidSpec(ValueError):
    """A piece's spec is missing fields or has impossible values."""


@dataclass(frozen=True)
class Seat:
    """Where a piece's band sits relative to the top of the forehead, in millimetres."""

    up_mm: float
    back_mm: float


# A crown's band rests on the head just above the hairline; a tiara sits further up and back, in
# the hair. Moving back matters once the head pitches: the seat then shifts up or down on screen.
SEATS: dict[str, Seat] = {"crown": Seat(up_mm=12.0, back_mm=0.0), "tiara": Seat(25.0, 30.0)}


def _point(value: Any, name: str) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise InvalidSpec(f"{name} must be a pair of numbers [x, y], got {value!r}")
    x, y = float(value[0]), float(value[1])
    if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0:
        raise InvalidSpec(f"{name} must be finite, non-negative pixel coordinates, got {value!r}")
    return x, y


@dataclass(frozen=True)
class PieceSpec:
    """A piece's real width and where its band's base line lies in its PNG (pixel centres)."""

    kind: PieceKind
    width_mm: float
    band_left: tuple[float, float]
    band_right: tuple[float, float]

    def __post_init__(self) -> None:
        if self.kind not in SEATS:
            raise InvalidSpec(f"kind must be 'crown' or 'tiara', got {self.kind!r}")
        if (
            not isinstance(self.width_mm, int | float)
            or isinstance(self.width_mm, bool)
            or not MIN_WIDTH_MM <= self.width_mm <= MAX_WIDTH_MM
        ):
            raise InvalidSpec(
                f"width_mm must be a number from {MIN_WIDTH_MM:g} to {MAX_WIDTH_MM:g}, "
                f"got {self.width_mm!r}"
            )
        # Normalise lists and ints so specs compare, hash and serialise the same way.
        object.__setattr__(self, "width_mm", float(self.width_mm))
        object.__setattr__(self, "band_left", _point(self.band_left, "band_left"))
        object.__setattr__(self, "band_right", _point(self.band_right, "band_right"))
        if self.band_right[0] - self.band_left[0] < 2.0:
            raise InvalidSpec("band_right must lie at least 2 px to the right of band_left")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PieceSpec:
        """Validate a spec such as {"kind": "crown", "width_mm": 150, "band_left": [x, y], ...}."""
        if not isinstance(data, Mapping):
            raise InvalidSpec(f"spec must be a JSON object, got {type(data).__name__}")
        missing = [k for k in ("kind", "width_mm", "band_left", "band_right") if k not in data]
        if missing:
            raise InvalidSpec(f"spec is missing {', '.join(missing)}")
        return cls(
            kind=data["kind"],
            width_mm=data["width_mm"],
            band_left=data["band_left"],
            band_right=data["band_right"],
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> PieceSpec:
        """Parse and validate a spec from JSON text."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidSpec(f"spec is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as JSON-ready data."""
        return {
            "kind": self.kind,
            "width_mm": self.width_mm,
            "band_left": list(self.band_left),
            "band_right": list(self.band_right),
        }

    @property
    def band_length(self) -> float:
        """Return the band's length in the PNG's pixels."""
        return math.dist(self.band_left, self.band_right)

    def check_overlay(self, overlay_size: tuple[int, int]) -> None:
        """Raise InvalidSpec unless both band ends lie inside an overlay of (width, height)."""
        width, height = overlay_size
        for name, (x, y) in (("band_left", self.band_left), ("band_right", self.band_right)):
            if x > width or y > height:
                raise InvalidSpec(f"{name} {x:g},{y:g} lies outside the {width}x{height} overlay")


@dataclass(frozen=True)
class Placement:
    """Where a piece lands on one face, in the image's pixels."""

    face_index: int
    spec: PieceSpec
    band_left: tuple[float, float]
    band_right: tuple[float, float]
    # Image displacement for one PNG pixel towards the piece's top (shows pitch and shear).
    up: tuple[float, float]
    # 2x3 affine from PNG pixel centres to image pixel centres (cv2.warpAffine convention).
    matrix: tuple[tuple[float, float, float], tuple[float, float, float]]

    @property
    def affine(self) -> np.ndarray:
        """Return the 2x3 transform as an array."""
        return np.array(self.matrix, dtype=np.float64)

    @property
    def width_px(self) -> float:
        """Return the band's length on screen."""
        return math.dist(self.band_left, self.band_right)

    @property
    def angle_deg(self) -> float:
        """Return the band's angle on screen, from the x axis towards the y axis."""
        dx = self.band_right[0] - self.band_left[0]
        dy = self.band_right[1] - self.band_left[1]
        return math.degrees(math.atan2(dy, dx))


def placement_from_band(
    spec: PieceSpec,
    band_left: np.ndarray | tuple[float, float],
    band_right: np.ndarray | tuple[float, float],
    up: np.ndarray | tuple[float, float],
    *,
    face_index: int = 0,
) -> Placement:
    """Build the affine that maps the spec's band onto image points band_left..band_right."""
    # Runs on every live frame, on 2-vectors: plain floats, as numpy's per-call cost (outer,
    # norm, column_stack) was most of the time.
    png_x, png_y = spec.band_left
    along_x, along_y = spec.band_right[0] - png_x, spec.band_right[1] - png_y
    length = math.hypot(along_x, along_y)
    unit_x, unit_y = along_x / length, along_y / length
    png_up_x, png_up_y = unit_y, -unit_x  # perpendicular towards the PNG's top (y is down)
    left_x, left_y = float(band_left[0]), float(band_left[1])
    right_x, right_y = float(band_right[0]), float(band_right[1])
    up_x, up_y = float(up[0]), float(up[1])
    dx, dy = right_x - left_x, right_y - left_y
    # linear = outer(right - left, unit) / length + outer(up, png_up)
    a = dx * unit_x / length + up_x * png_up_x
    b = dx * unit_y / length + up_x * png_up_y
    c = dy * unit_x / length + up_y * png_up_x
    d = dy * unit_y / length + up_y * png_up_y
    return Placement(
        face_index=face_index,
        spec=spec,
        band_left=(left_x, left_y),
        band_right=(right_x, right_y),
        up=(up_x, up_y),
        matrix=(
            (a, b, left_x - (a * png_x + b * png_y)),
            (c, d, left_y - (c * png_x + d * png_y)),
        ),
    )


def place_piece(measurement: FaceMeasurement, spec: PieceSpec, *, face_index: int = 0) -> Placement:
    """Seat the piece on the head at true size, following roll and foreshortening with yaw."""
    (r00, r01, r02), (r10, r11, r12), _ = measurement.rotation.tolist()
    px_per_mm = 1.0 / measurement.mm_per_px
    seat = SEATS[spec.kind]
    # Offsets are along the face's own axes, so a tilted or nodding head carries the piece.
    offset_x = r01 * -seat.up_mm + r02 * seat.back_mm
    offset_y = r11 * -seat.up_mm + r12 * seat.back_mm
    top_x, top_y = measurement.landmarks[FOREHEAD_TOP, :2].tolist()
    centre_x, centre_y = top_x + offset_x * px_per_mm, top_y + offset_y * px_per_mm
    half = spec.width_mm / 2 * px_per_mm
    half_x, half_y = r00 * half, r10 * half
    png_to_image = spec.width_mm * px_per_mm / spec.band_length
    up = (-r01 * png_to_image, -r11 * png_to_image)
    return placement_from_band(
        spec,
        (centre_x - half_x, centre_y - half_y),
        (centre_x + half_x, centre_y + half_y),
        up,
        face_index=face_index,
    )


# A phone at arm's length or a webcam on a desk: the head is about this far from the lens. The
# photo alone cannot tell (its focal length is unknown), and perspective only needs the ratio of
# the piece's depth to this distance.
CAMERA_DISTANCE_MM = 500.0


def band_frame(spec: PieceSpec) -> np.ndarray:
    """Return the 3x3 map from PNG pixels to (mm along the band, mm up from it, 1).

    Both are measured from the band's midpoint; "along" grows towards band_right.
    """
    png_left = np.array(spec.band_left)
    along = np.array(spec.band_right) - png_left
    unit = along / np.linalg.norm(along)
    png_up = np.array([unit[1], -unit[0]])
    centre = png_left + along / 2
    mm_per_png = spec.width_mm / spec.band_length
    rows = np.array([unit, png_up]) * mm_per_png
    return np.vstack((np.column_stack((rows, -rows @ centre)), [0.0, 0.0, 1.0]))


def perspective_homography(
    placement: Placement,
    rotation: np.ndarray,
    *,
    camera_distance_mm: float = CAMERA_DISTANCE_MM,
) -> np.ndarray:
    """Return the 3x3 homography from PNG pixels to image pixels that adds perspective.

    The placement's affine is the piece seen from infinitely far away. Here the piece is a plane
    turned with the head (rotation: the face's axes as columns, see ar.pose), seen by a pinhole
    camera camera_distance_mm from the band's midpoint: a point z mm further away than the
    midpoint shrinks towards it by d / (d + z), so the far end of a turned band is foreshortened.
    """
    if not camera_distance_mm > 0:
        raise ValueError("camera_distance_mm must be positive")
    rotation = np.asarray(rotation, dtype=np.float64)
    frame = band_frame(placement.spec)
    # Depth in mm of each PNG point relative to the midpoint: along the face's x axis, up its -y.
    depth = (frame[0] * rotation[2, 0] - frame[1] * rotation[2, 1]) / camera_distance_mm
    affine = placement.affine
    anchor = (np.array(placement.band_left) + np.array(placement.band_right)) / 2
    return np.vstack(
        (
            affine[0] + anchor[0] * depth,
            affine[1] + anchor[1] * depth,
            depth + np.array([0.0, 0.0, 1.0]),
        )
    )


def place_pieces(faces: Sequence[FaceMeasurement], spec: PieceSpec) -> list[Placement]:
    """Seat the piece on each measured face, numbered in order."""
    return [place_piece(face, spec, face_index=i) for i, face in enumerate(faces)]
