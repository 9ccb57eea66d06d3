"""Steady a piece on live video with the One Euro filter (Casiez, Roussel & Vogel, CHI 2012)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ar.placement import PieceSpec, Placement, placement_from_band


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Low-pass filter whose cutoff rises with speed: steady when still, prompt when moving.

    Works on scalars or arrays (each element filtered independently). ``min_cutoff`` (Hz) sets
    the smoothing at rest, ``beta`` how fast the cutoff rises with speed (per unit/s), and
    ``d_cutoff`` (Hz) smooths the speed estimate itself.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("cutoffs must be positive and beta non-negative")
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the history; the next value passes through unchanged."""
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time = 0.0

    def __call__(self, value: np.ndarray | float, timestamp: float) -> np.ndarray:
        """Filter one sample taken at ``timestamp`` seconds."""
        x = np.array(value, dtype=np.float64)
        if self._value is None or self._speed is None:
            self._value, self._speed, self._time = x, np.zeros_like(x), timestamp
            return x.copy()
        # Repeated or out-of-order timestamps must not divide by zero or run time backwards.
        dt = max(timestamp - self._time, 1e-6)
        speed = (x - self._value) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self._speed = a_d * speed + (1.0 - a_d) * self._speed
        a = _alpha(self.min_cutoff + self.beta * np.abs(self._speed), dt)
        self._value = a * x + (1.0 - a) * self._value
        self._time = max(timestamp, self._time)
        return self._value.copy()


@dataclass
class _Track:
    spec: PieceSpec
    reference_width: float
    filter: OneEuroFilter
    centre: np.ndarray
    width: float
    angle: float


def _decompose(placement: Placement) -> tuple[np.ndarray, float, float, float, float]:
    """Return centre, width, angle, shear and aspect (log) of a placement."""
    left, right, up = (
        np.array(v) for v in (placement.band_left, placement.band_right, placement.up)
    )
    along = right - left
    width = float(np.linalg.norm(along))
    angle = math.atan2(along[1], along[0])
    unit = along / width
    perpendicular = np.array([unit[1], -unit[0]])
    height = float(up @ perpendicular)
    shear = float(up @ unit) / height if height else 0.0
    aspect = math.log(max(abs(height), 1e-9) * placement.spec.band_length / width)
    return (left + right) / 2, width, angle, shear, aspect


class PlacementSmoother:
    """One Euro filter on each face's placement; faces are matched frame to frame by position.

    Positions are filtered in units of the face's band width, so the same settings suit a face
    near the camera and one across the room. A face that disappears loses its history.
    """

    def __init__(
        self,
        *,
        min_cutoff: float = 1.0,
        beta: float = 5.0,
        d_cutoff: float = 1.0,
        match_distance: float = 0.5,
    ) -> None:
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.match_distance = match_distance
        self._tracks: list[_Track] = []

    def reset(self) -> None:
        """Forget every face, e.g. when the stream restarts or the face was lost."""
        self._tracks = []

    def _match(
        self, placement: Placement, centre: np.ndarray, width: float, used: set[int]
    ) -> int | None:
        best, best_distance = None, math.inf
        for index, track in enumerate(self._tracks):
            if index in used or track.spec != placement.spec:
                continue
            distance = float(np.linalg.norm(track.centre - centre))
            if (
                distance <= self.match_distance * max(track.width, width)
                and distance < best_distance
            ):
                best, best_distance = index, distance
        return best

    def update(self, placements: Sequence[Placement], timestamp: float) -> list[Placement]:
        """Smooth this frame's placements (seconds since any fixed origin) and return them."""
        tracks: list[_Track] = []
        used: set[int] = set()
        smoothed: list[Placement] = []
        for placement in placements:
            centre, width, angle, shear, aspect = _decompose(placement)
            index = self._match(placement, centre, width, used)
            if index is None:
                track = _Track(
                    placement.spec,
                    width,
                    OneEuroFilter(self.min_cutoff, self.beta, self.d_cutoff),
                    centre,
                    width,
                    angle,
                )
            else:
                used.add(index)
                track = self._tracks[index]
                # Keep the angle continuous so a turn through 180 degrees does not spin the piece.
                angle += 2 * math.pi * round((track.angle - angle) / (2 * math.pi))
            ref = track.reference_width
            state = np.array(
                [centre[0] / ref, centre[1] / ref, angle, math.log(width / ref), shear, aspect]
            )
            cx, cy, angle, log_width, shear, aspect = track.filter(state, timestamp)
            centre, width = np.array([cx, cy]) * ref, math.exp(log_width) * ref
            track.centre, track.width, track.angle = centre, width, angle
            tracks.append(track)
            unit = np.array([math.cos(angle), math.sin(angle)])
            perpendicular = np.array([unit[1], -unit[0]])
            height = math.exp(aspect) * width / placement.spec.band_length
            smoothed.append(
                placement_from_band(
                    placement.spec,
                    centre - unit * width / 2,
                    centre + unit * width / 2,
                    height * (perpendicular + shear * unit),
                    face_index=placement.face_index,
                )
            )
        self._tracks = tracks
        return smoothed
