"""Find faces and their 478 landmarks with MediaPipe; the only module that imports it.

Coordinates returned are in the input image's pixels with OpenCV's convention: the centre of
pixel (column i, row j) is (i, j), x grows rightwards, y downwards. z is MediaPipe's relative depth
scaled to the same pixels as x; smaller (more negative) z is nearer the camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
from mediapipe.framework.formats import landmark_pb2
from mediapipe.python._framework_bindings import _packet_getter
from mediapipe.python.solutions import face_detection, face_mesh, selfie_segmentation


@dataclass(frozen=True)
class LandmarkerSettings:
    """How faces are searched for."""

    mode: Literal["still", "video"] = "still"
    max_faces: int = 4
    # Detection runs on a copy no larger than this; points are mapped back to full resolution.
    max_side: int = 1280
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    # Faces too small for the mesh's short-range detector are found with the full-range one.
    small_faces: bool = True
    # Video mode: frames between full-range searches for faces not yet tracked.
    redetect_every: int = 15
    crop_side: int = 256

    def __post_init__(self) -> None:
        if self.mode not in ("still", "video"):
            raise ValueError(f"mode must be 'still' or 'video', not {self.mode!r}")
        if not 1 <= self.max_faces <= 16:
            raise ValueError("max_faces must be between 1 and 16")
        if self.max_side < 64:
            raise ValueError("max_side must be at least 64")


@dataclass(frozen=True, eq=False)
class FaceLandmarks:
    """One face's landmarks, (478, 3) float64 in input-image pixels."""

    points: np.ndarray = field(repr=False)
    source: Literal["mesh", "crop"]

    @property
    def box(self) -> tuple[float, float, float, float]:
        """Return (x0, y0, x1, y1) around the points."""
        x0, y0 = self.points[:, :2].min(axis=0)
        x1, y1 = self.points[:, :2].max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


# A serialised NormalizedLandmark with x, y and z set and nothing else: field 1 of the list
# (tag 0x0a, 15 bytes), holding fields 1, 2 and 3 as little-endian float32 (tags 0x0d, 0x15, 0x1d).
_LANDMARK_BYTES = 17
_LANDMARK_TAGS = {0: 0x0A, 1: 0x0F, 2: 0x0D, 7: 0x15, 12: 0x1D}
# The record's tag bytes, as a mask and their values, to check every record in one pass.
_TAG_MASK = np.zeros(_LANDMARK_BYTES, np.uint8)
_TAG_VALUES = np.zeros(_LANDMARK_BYTES, np.uint8)
_TAG_MASK[list(_LANDMARK_TAGS)] = 0xFF
_TAG_VALUES[list(_LANDMARK_TAGS)] = list(_LANDMARK_TAGS.values())
# x, y and z start 3, 8 and 13 bytes into a record: 5 bytes apart.
_X_OFFSET, _FLOAT_STRIDE = 3, 5


def _raw_points(data: bytes) -> np.ndarray:
    """Return the (n, 3) normalised x, y, z of a serialised NormalizedLandmarkList as float64."""
    # Reading 478 protobuf messages field by field costs about a millisecond in Python; the
    # serialised list, when laid out as face mesh writes it, is read by numpy in microseconds:
    # one pass checks every tag, and the floats are a strided view of the bytes.
    count, remainder = divmod(len(data), _LANDMARK_BYTES)
    if count and not remainder:
        rows = np.frombuffer(data, np.uint8).reshape(count, _LANDMARK_BYTES)
        if ((rows & _TAG_MASK) == _TAG_VALUES).all():
            floats = np.ndarray(
                (count, 3), "<f4", data, _X_OFFSET, (_LANDMARK_BYTES, _FLOAT_STRIDE)
            )
            return floats.astype(np.float64)
    # Any other layout (visibility set, a field missing): read the messages.
    landmarks = landmark_pb2.NormalizedLandmarkList.FromString(data).landmark
    points = [(p.x, p.y, p.z) for p in landmarks]
    return np.array(points, dtype=np.float64).reshape(-1, 3)


_PIXEL_CENTRE = np.array((0.5, 0.5, 0.0))


def _points_from(data: bytes, width: int, height: int) -> np.ndarray:
    points = _raw_points(data)
    # Normalised coordinates measure from the image's outer edge; shift to pixel centres.
    points *= np.array((width, height, width), np.float64)
    points -= _PIXEL_CENTRE
    return points


def _run_mesh(mesh: Any, rgb: np.ndarray) -> list[bytes]:
    """Run a face mesh on one RGB frame; return each face's serialised landmark list.

    MediaPipe's ``SolutionBase.process`` builds a new namedtuple class and parses every list
    into protobuf messages on each call, about 0.2 ms a frame that the live try-on pays on
    every frame; this feeds the graph the same packet at the same timestamps and takes the
    lists' bytes, which ``_raw_points`` reads anyway. It uses SolutionBase's internals of the
    pinned MediaPipe (0.10.21): tests/ar check it answers exactly as ``process`` does, and
    where those internals are missing it calls ``process``.
    """
    if not (_LEAN_MESH and all(hasattr(mesh, name) for name in _MESH_INTERNALS)):
        return [face.SerializeToString() for face in mesh.process(rgb).multi_face_landmarks or ()]
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("Input image must contain three channel rgb data.")
    mesh._graph_outputs.clear()
    mesh._simulated_timestamp += 33333  # as process: a 30 fps video's timestamps
    packet = mesh._make_packet(mesh._input_stream_type_info["image"], rgb)
    mesh._graph.add_packet_to_input_stream(
        stream="image", packet=packet.at(mesh._simulated_timestamp)
    )
    mesh._graph.wait_until_idle()
    found = mesh._graph_outputs.get("multi_face_landmarks")
    if found is None or found.is_empty():
        return []
    return _packet_getter._get_serialized_proto_list(found)


_MESH_INTERNALS = (
    "_graph",
    "_graph_outputs",
    "_simulated_timestamp",
    "_make_packet",
    "_input_stream_type_info",
)
_LEAN_MESH = hasattr(_packet_getter, "_get_serialized_proto_list")


def _box_area(face: FaceLandmarks) -> float:
    x0, y0, x1, y1 = face.box
    return (x1 - x0) * (y1 - y0)


def _inside(box: tuple[float, float, float, float], x: float, y: float) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


class FaceLandmarker:
    """MediaPipe face mesh with a full-range detector for small faces. Not thread-safe."""

    def __init__(self, settings: LandmarkerSettings) -> None:
        self.settings = settings
        self._mesh = face_mesh.FaceMesh(
            static_image_mode=settings.mode == "still",
            max_num_faces=settings.max_faces,
            refine_landmarks=True,
            min_detection_confidence=settings.min_detection_confidence,
            min_tracking_confidence=settings.min_tracking_confidence,
        )
        self._detector = None
        self._crop_mesh = None
        if settings.small_faces:
            self._detector = face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=settings.min_detection_confidence
            )
            # Crops come from different places in every frame, so this mesh never tracks.
            self._crop_mesh = face_mesh.FaceMesh(
                static_image_mode=True,
                max_num_faces=1,
                refine_landmarks=True,
                min_detection_confidence=settings.min_detection_confidence,
            )
        self._frame_index = 0
        # Video mode: (cx, cy, side) of small faces found in the previous frame, in input pixels.
        self._crop_tracks: list[tuple[float, float, float]] = []

    def detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        """Return the faces in an RGB uint8 image, largest first."""
        height, width = rgb.shape[:2]
        scale = min(1.0, self.settings.max_side / max(height, width))
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            work = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        else:
            work = rgb
        work_h, work_w = work.shape[:2]
        sx, sy = work_w / width, work_h / height

        faces: list[FaceLandmarks] = []
        for face in _run_mesh(self._mesh, work):
            points = _points_from(face, work_w, work_h)
            if scale < 1.0:
                # Back to the caller's pixels, with INTER_AREA's pixel-centre alignment.
                points[:, 0] = (points[:, 0] + 0.5) / sx - 0.5
                points[:, 1] = (points[:, 1] + 0.5) / sy - 0.5
                points[:, 2] = points[:, 2] / sx
            faces.append(FaceLandmarks(points=points, source="mesh"))
        if self._detector is not None and len(faces) < self.settings.max_faces:
            faces.extend(self._small_faces(rgb, work, faces))
        self._frame_index += 1
        if len(faces) > 1:
            faces.sort(key=_box_area, reverse=True)
        return faces

    def _small_faces(
        self, rgb: np.ndarray, work: np.ndarray, found: list[FaceLandmarks]
    ) -> list[FaceLandmarks]:
        """Find faces the mesh missed with the full-range detector and run the mesh on crops."""
        height, width = rgb.shape[:2]
        boxes = [face.box for face in found]
        candidates: list[tuple[float, float, float]] = []
        video = self.settings.mode == "video"
        if video:
            candidates.extend(self._crop_tracks)
        search = (
            not video
            or not (found or self._crop_tracks)
            or self._frame_index % self.settings.redetect_every == 0
        )
        if search:
            # Relative boxes from the reduced copy apply unchanged to the full image.
            for detection in self._detector.process(work).detections or ():
                rel = detection.location_data.relative_bounding_box
                w, h = rel.width * width, rel.height * height
                cx, cy = rel.xmin * width + w / 2 - 0.5, rel.ymin * height + h / 2 - 0.5
                # The detector's box spans brows to chin; the mesh wants the whole head in view.
                candidates.append((cx, cy, 2.2 * max(w, h)))

        results: list[FaceLandmarks] = []
        tracks: list[tuple[float, float, float]] = []
        for cx, cy, side in candidates:
            if len(found) + len(results) >= self.settings.max_faces:
                break
            if any(_inside(box, cx, cy) for box in boxes):
                continue
            points = self._mesh_on_crop(rgb, cx, cy, side)
            if points is None:
                continue
            face = FaceLandmarks(points=points, source="crop")
            boxes.append(face.box)
            results.append(face)
            # Next frame's crop follows the landmarks, as MediaPipe's own tracker does.
            x0, y0, x1, y1 = face.box
            tracks.append(((x0 + x1) / 2, (y0 + y1) / 2, 1.8 * max(x1 - x0, y1 - y0)))
        self._crop_tracks = tracks if video else []
        return results

    def _mesh_on_crop(
        self, rgb: np.ndarray, cx: float, cy: float, side: float
    ) -> np.ndarray | None:
        """Run the mesh on a square crop of the full image centred on (cx, cy)."""
        height, width = rgb.shape[:2]
        n = max(round(side), 8)
        x0, y0 = round(cx - (n - 1) / 2), round(cy - (n - 1) / 2)
        # Cut from the full-resolution image, padding with black where the square leaves it.
        square = np.zeros((n, n, 3), np.uint8)
        ix0, iy0 = max(x0, 0), max(y0, 0)
        ix1, iy1 = min(x0 + n, width), min(y0 + n, height)
        if ix0 >= ix1 or iy0 >= iy1:
            return None
        square[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = rgb[iy0:iy1, ix0:ix1]
        crop_side = self.settings.crop_side
        # Area averaging when shrinking avoids aliasing; small faces are enlarged smoothly.
        interpolation = cv2.INTER_AREA if n > crop_side else cv2.INTER_LINEAR
        crop = cv2.resize(square, (crop_side, crop_side), interpolation=interpolation)
        found = _run_mesh(self._crop_mesh, crop)
        if not found:
            return None
        points = _points_from(found[0], crop_side, crop_side)
        k = n / crop_side
        points[:, 0] = (points[:, 0] + 0.5) * k - 0.5 + x0
        points[:, 1] = (points[:, 1] + 0.5) * k - 0.5 + y0
        points[:, 2] = points[:, 2] * k
        return points

    def reset(self) -> None:
        """Forget tracked faces (video mode), e.g. when a new stream starts."""
        self._mesh.reset()
        self._crop_tracks = []
        self._frame_index = 0

    def close(self) -> None:
        """Release MediaPipe's graphs."""
        self._mesh.close()
        if self._detector is not None:
            self._detector.close()
        if self._crop_mesh is not None:
            self._crop_mesh.close()


def create_landmarker(settings: LandmarkerSettings | None = None) -> FaceLandmarker:
    """Build a landmarker once; reuse it for every image or frame."""
    return FaceLandmarker(settings or LandmarkerSettings())


class PersonSegmenter:
    """MediaPipe's selfie segmentation: how likely each pixel is a person. Not thread-safe."""

    def __init__(self) -> None:
        # The general model (256x256 input) suits portraits; the landscape one is for video calls.
        self._model = selfie_segmentation.SelfieSegmentation(model_selection=0)

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        """Return a float32 HxW mask of an RGB uint8 image, 1 on a person (hair included)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        mask = self._model.process(np.ascontiguousarray(rgb)).segmentation_mask
        return np.asarray(mask, dtype=np.float32)

    def close(self) -> None:
        """Release MediaPipe's graph."""
        self._model.close()


def create_segmenter() -> PersonSegmenter:
    """Build a person segmenter once; reuse it for every photo."""
    return PersonSegmenter()
