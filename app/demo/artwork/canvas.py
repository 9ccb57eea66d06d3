"""The supersampled canvas: metal layers, velvet under them, stone patches over them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from app.demo.artwork.palette import Stops
from app.demo.artwork.shading import _blur, _shade, _velvet
from app.demo.artwork.slots import _Slot
from app.demo.artwork.stones import _metal_ball, _stone_rgba


@dataclass
class _Layer:
    """One metal layer: shapes drawn into a mask, composited over earlier layers."""

    img: Image.Image
    bevel: float
    z: float
    tone: float
    cyl: float
    mode: str

    @property
    def draw(self) -> ImageDraw.ImageDraw:
        """Pillow drawing handle."""
        return ImageDraw.Draw(self.img)


class _Canvas:
    """Supersampled drawing surface in piece units."""

    def __init__(self, width: int, height: int, scale: float, ox: float, oy: float) -> None:
        """Create an empty canvas; unit point (x, y) maps to (ox + x*scale, oy + y*scale)."""
        self.w, self.h, self.s, self.ox, self.oy = width, height, scale, ox, oy
        self.layers: list[_Layer] = []
        self.under: list[tuple[Image.Image, tuple[int, int, int], float]] = []
        self.patches: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        self.cyl_radius = 0.5 * scale

    def px(self, pts: np.ndarray) -> list[float]:
        """Unit points to a flat pixel coordinate list."""
        p = np.asarray(pts, np.float64).reshape(-1, 2)
        return (
            np.stack([self.ox + p[:, 0] * self.s, self.oy + p[:, 1] * self.s], 1).ravel().tolist()
        )

    def layer(
        self,
        bevel: float,
        *,
        z: float = 0.0,
        tone: float = 1.0,
        cyl: float = 0.0,
        mode: str = "paint",
    ) -> _Layer:
        """A new metal layer (bevel and z in units); layers composite in creation order."""
        img = Image.new("L", (self.w, self.h), 0)
        lay = _Layer(img, bevel * self.s, z * self.s, tone, cyl, mode)
        self.layers.append(lay)
        return lay

    def poly(self, lay: _Layer, pts: np.ndarray, fill: int = 255) -> None:
        """Fill a polygon on a layer."""
        lay.draw.polygon(self.px(pts), fill=fill)

    def disc(self, lay: _Layer, cx: float, cy: float, rx: float, ry: float | None = None) -> None:
        """Fill an ellipse on a layer."""
        ry = rx if ry is None else ry
        x0, y0, x1, y1 = self.px(np.array([[cx - rx, cy - ry], [cx + rx, cy + ry]]))
        lay.draw.ellipse([x0, y0, x1, y1], fill=255)

    def stroke(self, lay: _Layer, path: np.ndarray, hw: float | np.ndarray) -> None:
        """Stamp discs along a path (a round-ended wire with optional taper)."""
        path = np.asarray(path, np.float64)
        seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
        s = np.concatenate([[0.0], np.cumsum(seg)])
        hws = np.broadcast_to(np.asarray(hw, np.float64), (len(path),))
        step = max(float(np.min(hws)) * 0.35, 0.6 / self.s)
        n = max(int(s[-1] / step) + 2, 2)
        u = np.linspace(0, s[-1], n)
        xs, ys = np.interp(u, s, path[:, 0]), np.interp(u, s, path[:, 1])
        rs = np.interp(u, s, hws)
        d = lay.draw
        for x, y, r in zip(
            (self.ox + xs * self.s).tolist(),
            (self.oy + ys * self.s).tolist(),
            (rs * self.s).tolist(),
            strict=True,
        ):
            d.ellipse([x - r, y - r, x + r, y + r], fill=255)

    def velvet(self, pts: np.ndarray, colour: tuple[int, int, int], soft: float) -> None:
        """A velvet shape drawn under all the metal."""
        img = Image.new("L", (self.w, self.h), 0)
        ImageDraw.Draw(img).polygon(self.px(pts), fill=255)
        self.under.append((img, colour, soft * self.s))

    def _patch(self, x: float, y: float, make: Callable[[float, float], tuple]) -> None:
        """Place an analytic patch (stone, bead) centred at unit point x, y."""
        px, py = self.ox + x * self.s, self.oy + y * self.s
        ix, iy = int(round(px)), int(round(py))
        rgb, cov = make(px - ix, py - iy)
        ext = cov.shape[0] // 2
        self.patches.append((ix - ext, iy - ext, rgb, cov))

    def stone(self, slot: _Slot, kind: str, stops: Stops, key: int) -> None:
        """Set a stone (with its collet) in a slot."""
        r = slot.r * self.s
        if slot.collet:
            self._patch(
                slot.x,
                slot.y,
                lambda fx, fy: _metal_ball(r, stops, slot.tilt, fx, fy, True, slot.sx),
            )
        if kind == "none":
            self._patch(slot.x, slot.y, lambda fx, fy: _metal_ball(r, stops, slot.tilt, fx, fy))
            return
        self._patch(
            slot.x,
            slot.y,
            lambda fx, fy: _stone_rgba(
                kind, r, slot.sx, "round" if kind == "pearl" else slot.shape, slot.tilt, key, fx, fy
            ),
        )

    def bead(self, slot: _Slot, stops: Stops) -> None:
        """A polished metal bead in an unfilled slot."""
        r = slot.r * self.s * 0.9
        self._patch(
            slot.x, slot.y, lambda fx, fy: _metal_ball(r, stops, slot.tilt, fx, fy, sx=slot.sx)
        )

    def render(self, stops: Stops, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """Composite everything; returns float RGBA (rows cropped to content) and the row offset."""
        alpha_rows = np.zeros(self.h, bool)
        for lay in self.layers:
            box = lay.img.getbbox()
            if box and lay.mode == "paint":
                alpha_rows[box[1] : box[3]] = True
        for img, _, _ in self.under:
            box = img.getbbox()
            if box:
                alpha_rows[box[1] : box[3]] = True
        for _x, y, _rgb, cov in self.patches:
            alpha_rows[max(y, 0) : max(y + cov.shape[0], 0)] = True
        rows = np.flatnonzero(alpha_rows)
        pad = int(self.s * 0.03) + 8
        y0 = max(int(rows[0]) - pad, 0)
        y1 = min(int(rows[-1]) + pad, self.h)
        hh, ww = y1 - y0, self.w
        height = np.zeros((hh, ww), np.float32)
        tone = np.ones((hh, ww), np.float32)
        alpha = np.zeros((hh, ww), np.float32)
        xs = np.arange(ww, dtype=np.float32) - self.ox
        cyl = np.sqrt(np.clip(self.cyl_radius**2 - xs * xs, 0, None))
        for lay in self.layers:
            box = lay.img.getbbox()
            if not box:
                continue
            p = int(max(lay.bevel, 1) * 2.5) + 3
            bx0, by0 = max(box[0] - p, 0), max(box[1] - p, y0)
            bx1, by1 = min(box[2] + p, ww), min(box[3] + p, y1)
            m = np.asarray(lay.img.crop((bx0, by0, bx1, by1)), np.float32) / 255.0
            sl = (slice(by0 - y0, by1 - y0), slice(bx0, bx1))
            b = _blur(m, lay.bevel * 0.6)
            if lay.mode == "add":
                height[sl] += lay.z * b * (alpha[sl] > 0)
                continue
            hpart = lay.z + lay.bevel * b + lay.cyl * cyl[None, bx0:bx1]
            height[sl] = height[sl] * (1 - m) + hpart * m
            tone[sl] = tone[sl] * (1 - m) + lay.tone * m
            alpha[sl] = np.maximum(alpha[sl], m)
        # Small seeded ripples make reflections look hand-finished rather than CAD-perfect.
        f = max(int(self.s * 0.004), 1)
        noise = rng.standard_normal((hh // f + 2, ww // f + 2)).astype(np.float32)
        noise = Image.fromarray(_blur(noise, 1.5)).resize((ww, hh), Image.Resampling.BICUBIC)
        height += np.asarray(noise, np.float32) * (self.s * 0.00015)
        metal = _shade(height, tone, stops)
        rgb = np.zeros((hh, ww, 3), np.float32)
        acc = np.zeros((hh, ww), np.float32)
        for img, colour, soft in self.under:
            box = img.getbbox()
            if not box:
                continue
            p = int(soft * 3) + 2
            bx0, by0 = max(box[0] - p, 0), max(box[1] - p, y0)
            bx1, by1 = min(box[2] + p, ww), min(box[3] + p, y1)
            m = np.asarray(img.crop((bx0, by0, bx1, by1)), np.float32) / 255.0
            sl = (slice(by0 - y0, by1 - y0), slice(bx0, bx1))
            vel = _velvet(m, colour, soft, rng)
            rgb[sl] = rgb[sl] * (1 - m[..., None]) + vel * m[..., None]
            acc[sl] = np.maximum(acc[sl], m)
        rgb = rgb * (1 - alpha[..., None]) + metal * alpha[..., None]
        acc = alpha + acc * (1 - alpha)
        for px, py, prgb, pcov in self.patches:
            y = py - y0
            ys0, xs0 = max(y, 0), max(px, 0)
            ys1, xs1 = min(y + pcov.shape[0], hh), min(px + pcov.shape[1], ww)
            if ys0 >= ys1 or xs0 >= xs1:
                continue
            c = pcov[ys0 - y : ys1 - y, xs0 - px : xs1 - px, None]
            sub = prgb[ys0 - y : ys1 - y, xs0 - px : xs1 - px]
            rgb[ys0:ys1, xs0:xs1] = rgb[ys0:ys1, xs0:xs1] * (1 - c) + sub * c
            acc[ys0:ys1, xs0:xs1] = acc[ys0:ys1, xs0:xs1] * (1 - c[..., 0]) + c[..., 0]
        return np.concatenate([rgb, acc[..., None] * 255], axis=-1), y0
