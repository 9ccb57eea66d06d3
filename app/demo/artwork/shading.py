"""numpy helpers: colour ramps, blurs, and shading of polished metal and velvet."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from app.demo.artwork.palette import Stops


def _ramp(t: np.ndarray, stops: Stops) -> np.ndarray:
    """Map values in 0..1 through a colour ramp to float RGB (..., 3)."""
    xs = [s[0] for s in stops]
    out = np.empty(t.shape + (3,), np.float32)
    for c in range(3):
        out[..., c] = np.interp(t, xs, [s[1][c] for s in stops])
    return out


def _box(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Box-filter a 2-D array along one axis with radius r (edge padded)."""
    pad = [(0, 0), (0, 0)]
    pad[axis] = (r + 1, r)
    c = np.cumsum(np.pad(a, pad, mode="edge"), axis=axis, dtype=np.float64)
    w = 2 * r + 1
    if axis == 0:
        return ((c[w:] - c[:-w]) / w).astype(np.float32)
    return ((c[:, w:] - c[:, :-w]) / w).astype(np.float32)


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Approximate Gaussian blur (three box passes per axis; wide blurs at reduced size)."""
    f = int(sigma // 4)
    h, w = a.shape
    if f >= 2 and min(h, w) >= 8 * f:
        img = Image.fromarray(np.ascontiguousarray(a, np.float32))
        small = img.resize((max(w // f, 1), max(h // f, 1)), Image.Resampling.BOX)
        blurred = Image.fromarray(_blur(np.asarray(small, np.float32), sigma / f))
        return np.asarray(blurred.resize((w, h), Image.Resampling.BILINEAR), np.float32)
    r = int(round((math.sqrt(4 * sigma * sigma + 1) - 1) / 2))
    if r < 1:
        return a.astype(np.float32)
    out = a.astype(np.float32)
    for _ in range(3):
        out = _box(_box(out, r, 0), r, 1)
    return out


def _smooth(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Smoothstep of x between e0 and e1."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _hash01(*parts: np.ndarray | float) -> np.ndarray:
    """Deterministic pseudo-random values in 0..1 from numeric arrays."""
    v = np.zeros_like(np.asarray(parts[0], np.float64), dtype=np.float64)
    for i, p in enumerate(parts):
        v = v + np.asarray(p, np.float64) * (12.9898 + 41.23 * i)
    return np.modf(np.abs(np.sin(v) * 43758.5453))[0]


def _env(nx: np.ndarray, ny: np.ndarray, nz: np.ndarray) -> np.ndarray:
    """Brightness a polished metal surface with this normal reflects from the studio."""
    rx, ry = 2 * nz * nx, 2 * nz * ny
    e = 0.50 - 0.26 * ry
    e = e + 0.62 * np.exp(-((rx + 0.42) ** 2 + (ry + 0.52) ** 2) / 0.07)  # key softbox
    e = e + 0.40 * np.exp(-(((rx - 0.62) / 0.12) ** 2)) * (1 - _smooth(0.2, 0.9, ry))  # strip
    e = e + 0.25 * np.exp(-((rx + 0.05) ** 2 + (ry + 0.95) ** 2) / 0.03)  # top light
    e = e - 0.34 * _smooth(0.25, 0.8, ry)  # dark floor
    e = e - 0.16 * np.exp(-(((ry - 0.12) / 0.07) ** 2))  # horizon
    return e


def _shade(h: np.ndarray, tone: np.ndarray, stops: Stops) -> np.ndarray:
    """Shade a metal height map into RGB."""
    t = _env(*_normals(h)) * tone
    return _ramp(np.clip(t, 0.0, 1.0), stops)


def _normals(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit normals of a height map."""
    gy, gx = np.gradient(h)
    nz = 1.0 / np.sqrt(1.0 + gx * gx + gy * gy)
    return -gx * nz, -gy * nz, nz


def _velvet(
    mask: np.ndarray, colour: Sequence[int], soft: float, rng: np.random.Generator
) -> np.ndarray:
    """Shade a velvet shape (mask 0..1) softly lit from the upper left; returns RGB."""
    h = _blur(mask, soft) * soft * 1.6
    nx, ny, nz = _normals(h)
    lam = np.clip(-0.38 * nx - 0.55 * ny + 0.74 * nz, 0.0, 1.0)
    sheen = (1.0 - nz) ** 1.4
    grain = _blur(rng.standard_normal(mask.shape).astype(np.float32), 0.7) * 0.025
    v = (0.28 + 0.72 * lam + grain)[..., None]
    base = np.asarray(colour, np.float32)
    light = np.minimum(base * 1.9 + 40, 255)
    return np.clip(base * v + light * (0.55 * sheen)[..., None], 0, 255)
