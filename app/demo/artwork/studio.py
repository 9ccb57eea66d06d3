"""Catalog pictures: the piece on a studio backdrop, crowns on a tasselled velvet cushion."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from app.demo.artwork.design import PieceDesign
from app.demo.artwork.palette import METALS, Stops
from app.demo.artwork.render import _draw, _rng
from app.demo.artwork.shading import _blur, _ramp, _smooth
from app.demo.artwork.stones import _metal_ball

_BACKDROPS: dict[str, tuple[tuple[tuple[int, int, int], tuple[int, int, int]], ...]] = {
    "warm": (
        ((34, 44, 66), (10, 13, 22)),  # midnight navy
        ((34, 52, 46), (9, 17, 14)),  # bottle green
        ((236, 229, 219), (196, 184, 168)),  # warm stone
    ),
    "cool": (
        ((58, 36, 52), (16, 9, 15)),  # plum
        ((46, 52, 62), (14, 16, 21)),  # slate
        ((236, 226, 224), (198, 180, 178)),  # dusty rose
    ),
}
_DISPLAY: tuple[tuple[int, int, int], ...] = (
    (120, 16, 34),
    (28, 44, 110),
    (20, 80, 58),
    (62, 22, 84),
)


def _backdrop(size: int, top: Sequence[int], bottom: Sequence[int]) -> np.ndarray:
    """Studio sweep: vertical gradient, a soft spotlight behind the piece and a vignette."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    t = _smooth(0.0, 1.0, yy)[..., None]
    rgb = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    glow = np.exp(-(((xx - 0.5) / 0.42) ** 2 + ((yy - 0.42) / 0.36) ** 2))[..., None]
    lift = np.asarray(top, np.float32) * 0.55 + 40
    rgb = rgb + lift * 0.5 * glow
    vign = 1 - 0.32 * np.clip(((xx - 0.5) ** 2 + (yy - 0.5) ** 2) * 2.2, 0, 1)
    return rgb * vign[..., None]


def _shadow(alpha: np.ndarray, blur: float, dx: int, dy: int) -> np.ndarray:
    """A soft drop shadow (0..1) of an alpha mask, shifted by dx, dy."""
    s = _blur(alpha, blur)
    return np.roll(np.roll(s, dy, axis=0), dx, axis=1)


def _paste(canvas: np.ndarray, piece: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """Piece (H, W, 4 float) placed on an empty full-size RGBA float array."""
    out = np.zeros(canvas.shape[:2] + (4,), np.float32)
    h, w = piece.shape[:2]
    ys0, xs0 = max(y0, 0), max(x0, 0)
    ys1, xs1 = min(y0 + h, canvas.shape[0]), min(x0 + w, canvas.shape[1])
    out[ys0:ys1, xs0:xs1] = piece[ys0 - y0 : ys1 - y0, xs0 - x0 : xs1 - x0]
    return out


def render_catalog_image(design: PieceDesign, *, size: int = 800) -> Image.Image:
    """Catalog photo-like picture (RGB): the piece on a soft studio backdrop."""
    if not isinstance(size, int) or not 96 <= size <= 2400:
        raise ValueError(f"size must be an int in 96..2400, got {size!r}")
    rng = _rng(design, "studio")
    warm = design.metal in ("yellow-gold", "rose-gold")
    top, bottom = _BACKDROPS["warm" if warm else "cool"][int(rng.integers(0, 3))]
    rgb = _backdrop(size, top, bottom)
    crown = design.kind == "crown"
    piece_img, spec = _draw(design, int(size * (0.66 if crown else 0.8)))
    piece = np.asarray(piece_img, np.float32)
    ph, pw = piece.shape[:2]
    band_y = spec["band_left"][1]
    x0 = (size - pw) // 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if crown:
        base_y = min(max(0.5 * size + 0.45 * band_y, 0.6 * size), 0.72 * size)
        # Arched crowns already hold a crimson or purple cap: seat them on blue or green.
        choices = _DISPLAY[1:3] if design.style == "arch" else _DISPLAY
        display = choices[int(rng.integers(0, len(choices)))]
        rgb = _cushion(rgb, size, base_y - 0.012 * size, display, METALS[design.metal], rng)
        contact = np.exp(
            -(((xx - size / 2) / (pw * 0.47)) ** 8)
            - ((yy - base_y - 0.004 * size) / (0.016 * size)) ** 2
        )
        rgb *= (1 - 0.6 * contact)[..., None]
    else:
        base_y = min(max(0.5 * size + 0.5 * band_y, 0.55 * size), 0.68 * size)
        horizon = base_y - 0.03 * size
        surf = _smooth(horizon - 0.01 * size, horizon + 0.03 * size, yy)[..., None]
        floor = np.asarray(bottom, np.float32) * 0.85 + np.asarray(top, np.float32) * 0.15
        rgb = rgb * (1 - surf) + floor * (0.75 + 0.25 * (1 - yy / size))[..., None] * surf
    y0 = int(round(base_y - band_y))
    layer = _paste(rgb, piece, x0, y0)
    alpha = layer[..., 3] / 255.0
    if not crown:
        flip = _paste(rgb, piece[::-1], x0, int(round(base_y + band_y - ph)))
        fade = np.clip(1 - (yy - base_y) / (0.22 * size), 0, 1) ** 1.5 * (yy > base_y)
        fa = _blur(flip[..., 3] / 255.0, size * 0.002) * fade * 0.32
        rgb = rgb * (1 - fa[..., None]) + flip[..., :3] * fa[..., None]
        contact = np.exp(
            -(((xx - size / 2) / (pw * 0.49)) ** 8) - ((yy - base_y) / (0.01 * size)) ** 2
        )
        rgb *= (1 - 0.35 * contact)[..., None]
    shade = _shadow(alpha, size * 0.012, int(size * 0.008), int(size * 0.02))
    rgb *= (1 - 0.4 * shade)[..., None]
    rgb = rgb * (1 - alpha[..., None]) + layer[..., :3] * alpha[..., None]
    rgb += rng.uniform(-1.0, 1.0, rgb.shape).astype(np.float32)
    return Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8))


def _cushion(
    rgb: np.ndarray,
    size: int,
    top_y: float,
    colour: Sequence[int],
    metal: Stops,
    rng: np.random.Generator,
) -> np.ndarray:
    """A plump velvet cushion, seen from the front and above, whose top centre is at top_y."""
    a, depth, hs = 0.45 * size, 0.15 * size, 0.06 * size
    cx, cy = size / 2, top_y + hs
    n_p, n_q = int(a * 5), int((depth + 2 * hs) * 4)
    p = np.linspace(-1, 1, n_p)
    col = np.zeros((size, size, 3), np.float32)
    cov = np.zeros((size, size), np.float32)
    base = np.asarray(colour, np.float32)
    light = np.minimum(base * 1.9 + 40, 255)
    lx, ly, lz = -0.4, -0.35, 0.85
    for q in np.linspace(-1, 1, n_q):
        fp = np.clip(1 - np.abs(p) ** 2.4, 2e-3, 1)
        fq = max(1 - abs(q) ** 2.4, 2e-3)
        h = fp**0.55 * fq**0.55
        dhp = -0.55 * fp ** (-0.45) * 2.4 * np.abs(p) ** 1.4 * np.sign(p) * fq**0.55
        dhq = -0.55 * fq**-0.45 * 2.4 * abs(q) ** 1.4 * np.sign(q) * fp**0.55
        pinch = 1 - 0.05 * (1 - q * q)
        x = cx + a * p * (0.9 + 0.1 * q) * pinch
        y = cy + depth * q * (1 - 0.06 * (1 - p * p)) - hs * h
        gx, gy = dhp * hs / a, np.clip(dhq * hs / depth, -40, 40)
        nrm = np.sqrt(gx * gx + gy * gy + 1)
        nx, ny, nz = -gx / nrm, -gy / nrm, 1 / nrm
        lam = np.clip(lx * nx + ly * ny + lz * nz, 0, 1)
        view = np.clip(0.55 * ny + 0.83 * nz, 0, 1)
        sheen = (1 - view) ** 2
        shade = base * (0.22 + 0.8 * lam)[:, None] + light * (0.5 * sheen)[:, None]
        ix, iy = np.round(x).astype(int), np.round(y).astype(int)
        ok = (ix >= 0) & (ix < size) & (iy >= 0) & (iy < size)
        col[iy[ok], ix[ok]] = shade[ok]
        cov[iy[ok], ix[ok]] = 1.0
    grain = _blur(rng.standard_normal((size, size)).astype(np.float32), 0.7) * 0.03
    col *= (1 + grain)[..., None]
    m = _blur(cov, 0.6)
    col = _blur_rgb(col * cov[..., None], 0.6) / np.maximum(m, 1e-3)[..., None]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    floor = np.exp(
        -(((xx - cx) / (a * 1.05)) ** 6) - ((yy - cy - depth * 1.05) / (0.03 * size)) ** 2
    )
    out = rgb * (1 - 0.6 * floor)[..., None]
    out = out * (1 - m[..., None]) + col * m[..., None]
    for sgn in (-1, 1):
        kx = cx + sgn * a * 0.93
        ky = cy + depth * 0.99
        out = _tassel(out, kx, ky, size * 0.014, size * 0.065, metal)
    return out


def _blur_rgb(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Blur each channel of an RGB float array."""
    return np.stack([_blur(rgb[..., c], sigma) for c in range(3)], axis=-1)


def _tassel(
    out: np.ndarray, kx: float, ky: float, r: float, length: float, metal: Stops
) -> np.ndarray:
    """A metal-thread tassel hanging from (kx, ky): a knob and a flared skirt of strands."""
    size = out.shape[0]
    x0, x1 = int(max(kx - 3 * r, 0)), int(min(kx + 3 * r + 1, size))
    y0, y1 = int(max(ky - 2 * r, 0)), int(min(ky + length + r, size))
    if x0 >= x1 or y0 >= y1:
        return out
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    t = np.clip((yy - ky - r * 0.6) / length, 0, 1)
    half = r * (0.5 + 0.85 * t**0.6)
    dx = xx - kx
    skirt = np.clip(half - np.abs(dx), 0, 1) * (yy > ky) * np.clip(ky + r * 0.6 + length - yy, 0, 1)
    strand = 0.6 + 0.4 * np.cos(dx / max(r * 0.12, 0.6)) ** 2
    across = np.clip(dx / np.maximum(half, 1e-3), -1, 1)
    shade = (0.62 - 0.34 * across - 0.25 * t) * strand + 0.08
    sub = out[y0:y1, x0:x1]
    sub[:] = sub * (1 - skirt[..., None]) + _ramp(np.clip(shade, 0, 1), metal) * skirt[..., None]
    knob, cov = _metal_ball(r, metal, 0.0, 0.0, 0.0)
    e = cov.shape[0] // 2
    ix, iy = int(round(kx)), int(round(ky))
    if e <= iy < size - e and e <= ix < size - e:
        ys, xs = slice(iy - e, iy + e + 1), slice(ix - e, ix + e + 1)
        out[ys, xs] = out[ys, xs] * (1 - cov[..., None]) + knob * cov[..., None]
    return out
