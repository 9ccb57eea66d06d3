"""Build the try-on engine once and run images or video frames through it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from ar.composite import Overlay, composite, prepare_overlay
from ar.image_io import ChannelOrder, to_rgb
from ar.measurement import FaceMeasurement, faces_json, measure_face
from ar.occlusion import PersonMask, segment_people
from ar.placement import PieceSpec, Placement, place_pieces
from ar.render import RenderSettings, render


class _Face(Protocol):
    points: np.ndarray


class Landmarker(Protocol):
    """What the engine needs from a landmark detector (ar.landmarks.FaceLandmarker or a fake)."""

    def detect(self, rgb: np.ndarray) -> Sequence[_Face]: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


class Segmenter(Protocol):
    """What the engine needs from a person segmenter (ar.landmarks.PersonSegmenter or a fake)."""

    def segment(self, rgb: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


# Photos are drawn with light, perspective, occlusion and shadow unless a caller asks otherwise.
REALISTIC = RenderSettings()


@dataclass(frozen=True)
class EngineSettings:
    """Options fixed when the engine is built."""

    mode: Literal["still", "video"] = "still"
    max_faces: int = 4
    max_side: int = 1280
    min_detection_confidence: float = 0.5
    small_faces: bool = True


@dataclass(frozen=True, eq=False)
class TryOnResult:
    """A composited image with the faces measured and where the piece was placed."""

    image: np.ndarray = field(repr=False)
    faces: tuple[FaceMeasurement, ...]
    placements: tuple[Placement, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the command line's ``tryon --json`` document."""
        return faces_json(self.faces, self.placements)


class TryOnEngine:
    """Measure faces and place pieces on them, reusing one set of MediaPipe graphs.

    Thread safety: a still-mode engine may be shared by a web server's threads. MediaPipe graphs
    are not re-entrant, so an internal lock runs one detection at a time (a few milliseconds);
    measuring, placing and compositing run outside the lock. For parallel throughput run one
    engine per worker process. A video-mode engine tracks one stream: give each stream its own.
    """

    def __init__(
        self,
        landmarker: Landmarker,
        settings: EngineSettings | None = None,
        segmenter_factory: Callable[[], Segmenter] | None = None,
    ) -> None:
        self.settings = settings or EngineSettings()
        self._landmarker = landmarker
        self._lock = threading.Lock()
        self._closed = False
        # Built on the first realistic photo: live frames never need it.
        self._segmenter_factory = segmenter_factory
        self._segmenter: Segmenter | None = None

    @property
    def mode(self) -> str:
        """Return "still" or "video"."""
        return self.settings.mode

    def landmarks(
        self, image: np.ndarray, *, channel_order: ChannelOrder = "rgb"
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Return the image as RGB and each face's (478, 3) landmarks, largest face first."""
        rgb = to_rgb(image, channel_order)
        with self._lock:
            if self._closed:
                raise RuntimeError("the try-on engine has been closed")
            faces = self._landmarker.detect(rgb)
        return rgb, [face.points for face in faces]

    def measure(
        self, image: np.ndarray, *, channel_order: ChannelOrder = "rgb"
    ) -> list[FaceMeasurement]:
        """Measure every face in a grey, RGB, BGR or RGBA uint8 image (empty list: no face).

        Raises:
            InvalidImage: the array is not an image (wrong shape or type, smaller than 32 px).
        """
        rgb, faces = self.landmarks(image, channel_order=channel_order)
        size = (rgb.shape[1], rgb.shape[0])
        return [measure_face(points, size) for points in faces]

    def place(
        self,
        image_or_faces: np.ndarray | Sequence[FaceMeasurement],
        spec: PieceSpec,
        *,
        channel_order: ChannelOrder = "rgb",
    ) -> list[Placement]:
        """Place the piece on each face of an image, or on faces already measured."""
        if isinstance(image_or_faces, np.ndarray):
            faces = self.measure(image_or_faces, channel_order=channel_order)
        else:
            faces = list(image_or_faces)
        return place_pieces(faces, spec)

    def segment_people(
        self, rgb: np.ndarray, faces: Sequence[FaceMeasurement]
    ) -> PersonMask | None:
        """Segment the people around the faces of an RGB image (None: no segmenter or face)."""
        if self._segmenter_factory is None:
            return None

        def segment(crop: np.ndarray) -> np.ndarray:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the try-on engine has been closed")
                if self._segmenter is None:
                    self._segmenter = self._segmenter_factory()
                return self._segmenter.segment(crop)

        return segment_people(segment, rgb, faces)

    def try_on(
        self,
        image: np.ndarray,
        overlay: np.ndarray | Overlay,
        spec: PieceSpec,
        *,
        channel_order: ChannelOrder = "rgb",
        realism: RenderSettings | None = REALISTIC,
    ) -> TryOnResult:
        """Measure, place and composite in one call; the image returned is RGB.

        realism=None draws the flat composite (no light, perspective, occlusion or shadow).
        """
        prepared = overlay if isinstance(overlay, Overlay) else prepare_overlay(overlay)
        spec.check_overlay((prepared.width, prepared.height))
        rgb, landmarks = self.landmarks(image, channel_order=channel_order)
        size = (rgb.shape[1], rgb.shape[0])
        faces = [measure_face(points, size) for points in landmarks]
        placements = self.place(faces, spec)
        if realism is None:
            image = composite(rgb, prepared, placements)
        else:
            # Only a tiara needs the segmentation (its ends tuck into the hair); what hides a
            # crown's band is the head model's job, so crowns skip its cost.
            wants_people = realism.occlusion is not None and spec.kind == "tiara"
            people = self.segment_people(rgb, faces) if wants_people and faces else None
            image = render(rgb, prepared, placements, faces, people=people, settings=realism)
        return TryOnResult(image, tuple(faces), tuple(placements))

    def reset(self) -> None:
        """Forget tracked faces (video mode) before a new stream."""
        with self._lock:
            self._landmarker.reset()

    def close(self) -> None:
        """Release the detector; the engine cannot be used afterwards."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._landmarker.close()
                if self._segmenter is not None:
                    self._segmenter.close()

    def __enter__(self) -> TryOnEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def create_engine(
    mode: Literal["still", "video"] = "still",
    max_faces: int = 4,
    *,
    max_side: int = 1280,
    min_detection_confidence: float = 0.5,
    small_faces: bool = True,
) -> TryOnEngine:
    """Build a try-on engine; do this once per process (or per video stream) and reuse it."""
    # Imported here so that `import ar` (decoding, sizing) does not load MediaPipe.
    from ar.landmarks import LandmarkerSettings, create_landmarker, create_segmenter

    settings = EngineSettings(mode, max_faces, max_side, min_detection_confidence, small_faces)
    landmarker = create_landmarker(
        LandmarkerSettings(
            mode=mode,
            max_faces=max_faces,
            max_side=max_side,
            min_detection_confidence=min_detection_confidence,
            small_faces=small_faces,
        )
    )
    return TryOnEngine(landmarker, settings, segmenter_factory=create_segmenter)
