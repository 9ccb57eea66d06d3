"""Drawing a design: the transparent AR overlay with its spec, and PNG encoding."""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image

from app.demo.artwork.canvas import _Canvas
from app.demo.artwork.crown import _crown
from app.demo.artwork.design import PieceDesign
from app.demo.artwork.palette import METALS
from app.demo.artwork.slots import _Plan, _Slot, _Slots
from app.demo.artwork.tiara import _tiara


def _rng(design: PieceDesign, salt: str = "") -> np.random.Generator:
    """A generator seeded from the design (stable across runs and processes)."""
    key = f"{design.kind}/{design.style}/{salt}".encode()
    return np.random.default_rng([design.seed & 0xFFFFFFFF, zlib.crc32(key)])


def _heights(design: PieceDesign) -> float:
    """Generous height above the base line, in units, to lay out the canvas."""
    return {"fleur": 0.64, "spire": 0.72, "arch": 0.98, "coronet": 0.46}.get(design.style, 0.5)


def _build(design: PieceDesign, cv: _Canvas) -> tuple[_Plan, list[_Slot], list[_Slot]]:
    """Draw the piece's metal on a canvas; returns its plan, the stones to set and the beads."""
    rng = _rng(design)
    plan = _crown(cv, design, rng) if design.kind == "crown" else _tiara(cv, design, rng)
    stones, beads = plan.slots.choose(design.stone_count)
    return plan, stones, beads


def _slot_plan(design: PieceDesign) -> _Slots:
    """All the stone places of a design (drawn on a throwaway canvas); for tests and checks."""
    return _build(design, _Canvas(64, 64, 40.0, 32.0, 48.0))[0].slots


def _stone_slots(design: PieceDesign) -> list[_Slot]:
    """Where the design's stones go."""
    return _slot_plan(design).choose(design.stone_count)[0]


def _draw(design: PieceDesign, width_px: int) -> tuple[Image.Image, dict]:
    """Render the piece on transparency plus its spec (pixel coordinates of the band base)."""
    ss = int(min(4, max(2, round(2400 / width_px))))
    margin = max(3, round(width_px * 0.015))
    big_w = width_px * ss
    scale = (width_px - 2 * margin) * ss / 1.06  # ornaments and rims overhang the band a little
    top = _heights(design) + 0.06
    big_h = int((top + 0.16) * scale) + 2 * margin * ss
    big_h += (-big_h) % ss
    cv = _Canvas(big_w, big_h, scale, big_w / 2, margin * ss + top * scale)
    plan, stones, beads = _build(design, cv)
    stops = METALS[design.metal]
    for slot in beads:
        cv.bead(slot, stops)
    for i, slot in enumerate(stones):
        cv.stone(slot, design.stone_colour, stops, design.seed * 131 + i)
    rgba, y0 = cv.render(stops, _rng(design, "finish"))
    rows = rgba.shape[0] - rgba.shape[0] % ss
    big = Image.fromarray(np.clip(rgba[:rows] + 0.5, 0, 255).astype(np.uint8))
    small = big.resize((width_px, rows // ss), Image.Resampling.LANCZOS)
    arr = np.array(small)
    arr[arr[..., 3] < 3] = 0
    ys = np.flatnonzero(arr[..., 3].max(axis=1) > 0)
    c0 = max(int(ys[0]) - margin, 0)
    c1 = min(int(ys[-1]) + 1 + margin, arr.shape[0])
    image = Image.fromarray(np.ascontiguousarray(arr[c0:c1]))

    def to_px(p: tuple[float, float]) -> list[float]:
        bx = cv.ox + p[0] * cv.s
        by = cv.oy + p[1] * cv.s - y0
        return [round((bx + 0.5) / ss - 0.5, 2), round((by + 0.5) / ss - 0.5 - c0, 2)]

    spec = {
        "kind": design.kind,
        "width_mm": float(design.width_mm),
        "band_left": to_px(plan.band_left),
        "band_right": to_px(plan.band_right),
    }
    return image, spec


def render_overlay(design: PieceDesign, *, width_px: int = 900) -> tuple[Image.Image, dict]:
    """Front view of the piece on a fully transparent background (RGBA) and its AR spec."""
    if not isinstance(width_px, int) or not 64 <= width_px <= 2400:
        raise ValueError(f"width_px must be an int in 64..2400, got {width_px!r}")
    return _draw(design, width_px)


def png_bytes(image: Image.Image) -> bytes:
    """Encode an image as an optimised PNG."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
