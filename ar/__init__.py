"""Diadem's AR try-on engine: find faces, measure them, and draw crowns and tiaras on them.

Pure Python on numpy, OpenCV and MediaPipe; it never imports ``app``. MediaPipe is loaded only
when an engine is created (``ar.landmarks`` is its one importer).

Public API (names kept stable for the web app and scripts)::

    decode_image(data: bytes, *, max_pixels: int | None = None) -> np.ndarray   # RGB uint8 HxWx3
    decode_frame(data: bytes) -> np.ndarray   # the same via OpenCV, for frames checked already
    jpeg_size(data: bytes) -> (w, h) | None   # a JPEG's size from its header, for that check
    load_image(path, *, max_pixels=None) -> np.ndarray
    decode_overlay(data: bytes, *, max_pixels=None) -> np.ndarray               # RGBA uint8 HxWx4
    load_overlay(path, *, max_pixels=None) -> np.ndarray
    encode_image(rgb, image_format="png" | "jpeg", *, quality=90) -> bytes
    InvalidImage(ValueError)            # empty, not an image, corrupt, < 32 px, > max_pixels

    PieceSpec(kind, width_mm, band_left, band_right); PieceSpec.from_dict(d) / .from_json(text)
    InvalidSpec(ValueError)

    create_engine(mode="still" | "video", max_faces=4, *, max_side=1280,
                  min_detection_confidence=0.5, small_faces=True) -> TryOnEngine  # build once
    TryOnEngine.measure(image, *, channel_order="rgb") -> list[FaceMeasurement]  # largest first
    TryOnEngine.place(image_or_measurements, spec, *, channel_order="rgb") -> list[Placement]
    TryOnEngine.try_on(image, overlay, spec) -> TryOnResult   # .image, .faces, .placements
    TryOnEngine.landmarks(image) -> (rgb, [(478, 3) arrays])
    TryOnEngine.reset(); TryOnEngine.close()   # also a context manager
    FaceMeasurement: bbox, roll_deg, yaw_deg, pitch_deg, mm_per_px, scale_source ("iris" |
        "ipd"), head_width_mm, head_circumference_mm, head_circumference_range_mm (80 %,
        see ar.headsize), confidence (0..1), confidence_level,
        confidence_reason, landmarks, rotation; .to_json()
    Placement: face_index, spec, band_left, band_right, up, matrix; .affine (2x3 PNG -> image),
        .width_px, .angle_deg
    measure_face(points, (width, height)) -> FaceMeasurement; place_piece(measurement, spec)
    composite(frame_rgb, overlay_rgba | Overlay, placements, *, inplace=False) -> np.ndarray
    prepare_overlay(rgba) -> Overlay    # premultiplied once; reuse for every frame
    render(frame_rgb, overlay, placements, faces, *, people=None, settings=RenderSettings(),
           inplace=False) -> np.ndarray   # the photo path: light, perspective, occlusion, shadow
    TryOnEngine.try_on(..., realism=RenderSettings() | None)   # None: the flat composite
    overlay_box(placement, (overlay_w, overlay_h), (frame_w, frame_h)) -> box | None
    faces_json(measurements, placements=None) -> dict   # exactly the CLI's {"faces": [...]}
    TryOnResult.to_json() -> dict                        # same as faces_json(faces, placements)

    OneEuroFilter(min_cutoff, beta, d_cutoff)(value, timestamp); .reset()
    PlacementSmoother().update(placements, timestamp) -> list[Placement]; .reset()

    SizeBand(label, min_mm, max_mm); SizeBand.from_dict(d)
    recommend_size(circumference_mm, table, *, confidence="high" | 0..1, reason="",
                   range_mm=None) -> SizeAdvice   # .summary: "size M" | "between M and L: ..."
    advise_size(measurement, table) -> SizeAdvice   # carries the measurement's confidence

Command line: ``python -m ar measure IMAGE [--json]`` and ``python -m ar tryon IMAGE --overlay
PIECE.png --spec PIECE.json --out OUT.png [--json]``; exit 0 ok, 1 invalid input, 2 no face.

Images may be grey (HxW), RGB, BGR (``channel_order="bgr"``) or RGBA/BGRA uint8 arrays of any
size. Coordinates are image pixels with pixel centres at integers, x right, y down. Angles are
degrees; see ``ar.pose`` for the signs of roll, yaw and pitch.

Thread safety: a still-mode engine may be shared between a web server's threads; an internal
lock runs one MediaPipe detection at a time (the graphs are not re-entrant) while measuring,
placing and compositing run unlocked. Use one engine per worker process for parallelism, and one
video-mode engine per video stream (it tracks faces between frames).
"""

from __future__ import annotations

from ar.composite import Overlay, composite, overlay_box, prepare_overlay
from ar.image_io import (
    InvalidImage,
    decode_frame,
    decode_image,
    decode_overlay,
    encode_image,
    jpeg_size,
    load_image,
    load_overlay,
    to_rgb,
)
from ar.measurement import FaceMeasurement, faces_json, measure_face
from ar.pipeline import EngineSettings, TryOnEngine, TryOnResult, create_engine
from ar.placement import InvalidSpec, PieceSpec, Placement, place_piece, place_pieces
from ar.render import RenderSettings, render
from ar.sizing import SizeAdvice, SizeBand, advise_size, recommend_size
from ar.smoothing import OneEuroFilter, PlacementSmoother

__all__ = [
    "EngineSettings",
    "FaceMeasurement",
    "InvalidImage",
    "InvalidSpec",
    "OneEuroFilter",
    "Overlay",
    "PieceSpec",
    "Placement",
    "PlacementSmoother",
    "RenderSettings",
    "SizeAdvice",
    "SizeBand",
    "TryOnEngine",
    "TryOnResult",
    "advise_size",
    "composite",
    "create_engine",
    "decode_frame",
    "decode_image",
    "decode_overlay",
    "encode_image",
    "faces_json",
    "jpeg_size",
    "load_image",
    "load_overlay",
    "measure_face",
    "overlay_box",
    "place_piece",
    "place_pieces",
    "prepare_overlay",
    "recommend_size",
    "render",
    "to_rgb",
]
