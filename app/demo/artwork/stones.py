"""Analytic patches: faceted stones, pearls and polished metal beads."""

from __future__ import annotations

import math

import numpy as np

from app.demo.artwork.palette import GEMS, Stops
from app.demo.artwork.shading import _env, _hash01, _ramp, _smooth


def _stone_rgba(
    kind: str, r: float, sx: float, shape: str, tilt: float, key: int, fx: float, fy: float
) -> tuple[np.ndarray, np.ndarray]:
    """A faceted stone (or pearl) patch centred at subpixel offset fx, fy; RGB and coverage."""
    ext = int(math.ceil(r * 1.75)) + 2
    yy, xx = np.mgrid[-ext : ext + 1, -ext : ext + 1].astype(np.float32)
    xx -= fx
    yy -= fy
    if shape == "pear":
        yy = yy - 0.22 * r
    X = xx / max(sx, 0.05)
    d = np.hypot(X, yy)
    ang = np.arctan2(yy, X)
    if shape == "oval":
        rho = r / np.sqrt((np.cos(ang) / 0.8) ** 2 + (np.sin(ang) / 1.08) ** 2)
    elif shape == "pear":
        rho = r * (1 + 0.72 * np.clip(-np.sin(ang), 0, 1) ** 3.2)
    else:
        rho = np.full_like(d, r)
    q = d / rho
    cov = np.clip((rho - d) * max(sx, 0.3) + 0.5, 0.0, 1.0)
    if kind == "pearl":
        nz = np.sqrt(np.clip(1 - q * q, 0.0, 1.0))
        nx, ny = X / rho, yy / rho
        nx = nx * (1 - abs(tilt) * 0.3) + tilt * 0.5
        lam = np.clip(-0.45 * nx - 0.55 * ny + 0.7 * nz, 0, 1)
        v = 0.62 + 0.45 * lam
        rgb = np.array([246, 240, 228], np.float32) * v[..., None]
        rim = ((1 - nz) ** 2)[..., None]
        tint = np.where(
            (nx < 0)[..., None],
            np.array([255, 205, 220], np.float32),
            np.array([205, 232, 230], np.float32),
        )
        rgb = rgb * (1 - 0.45 * rim) + tint * 0.3 * rim
        spec = np.exp(-((nx + 0.36) ** 2 + (ny + 0.42) ** 2) / 0.012)
        glow = np.exp(-((nx + 0.2) ** 2 + (ny + 0.25) ** 2) / 0.12)
        rgb = rgb + 255 * (0.95 * spec + 0.12 * glow)[..., None]
        rgb *= (0.72 + 0.28 * np.sqrt(nz))[..., None]
        return np.clip(rgb, 0, 255), cov
    a = ang + np.pi
    oct_q = q * math.cos(math.pi / 8) / np.cos(np.mod(a, np.pi / 4) - np.pi / 8)
    zone = np.where(oct_q < 0.5, 0, np.where(q < 0.76, 1, np.where(q < 0.9, 2, 3)))
    idx = np.where(
        zone == 0,
        np.floor(a / (np.pi / 4)),
        np.where(zone == 1, np.floor(a / (np.pi / 8)), np.floor((a + np.pi / 16) / (np.pi / 8))),
    )
    h = _hash01(idx, zone, float(key % 9973))
    light = np.cos(ang - (-2.3))
    v = np.where(zone == 0, 0.52 + 0.22 * h, 0.3 + 0.55 * h + 0.14 * light)
    v = np.where(h < 0.16, v * 0.45, v)  # dark extinction facets
    arrows = np.cos(8 * (ang + np.pi / 8))
    v = np.where(zone == 0, v - 0.16 * (arrows > 0.55) * (q > 0.12), v)
    v = v * (1 - 0.5 * _smooth(0.86, 1.0, q))
    spec = np.exp(-((X + 0.33 * r) ** 2 + (yy + 0.38 * r) ** 2) / (2 * (0.12 * r) ** 2 + 0.5))
    v = v + 0.9 * spec + 0.05
    rgb = _ramp(np.clip(v, 0, 1), GEMS[kind])
    if kind == "diamond":
        fire = (_hash01(idx, zone + 7, float(key % 911)) > 0.8) & (zone > 0)
        hue = _hash01(idx, zone + 3, 5.0) * 2 * np.pi
        tint = np.stack([np.cos(hue), np.cos(hue - 2.1), np.cos(hue + 2.1)], axis=-1) * 70
        rgb = rgb + np.where(fire[..., None], tint, 0)
    return np.clip(rgb, 0, 255), cov


def _metal_ball(
    r: float, stops: Stops, tilt: float, fx: float, fy: float, ring: bool = False, sx: float = 1
) -> tuple[np.ndarray, np.ndarray]:
    """A polished metal bead (or, with ring, a stone's collet rim) patch; RGB and coverage."""
    outer = r * (1.24 if ring else 1.0)
    ext = int(math.ceil(outer * 1.1)) + 2
    yy, xx = np.mgrid[-ext : ext + 1, -ext : ext + 1].astype(np.float32)
    xx -= fx
    yy -= fy
    X = xx / max(sx, 0.05)
    d = np.hypot(X, yy)
    if ring:
        s = np.clip((d - r * 1.08) / (r * 0.17), -1, 1)
        nr = s * 0.85
        nz = np.sqrt(1 - nr * nr)
        nx = nr * X / np.maximum(d, 1e-3)
        ny = nr * yy / np.maximum(d, 1e-3)
        cov = np.clip((outer - d) * max(sx, 0.3) + 0.5, 0, 1)
    else:
        q = np.clip(d / r, 0, 1)
        nz = np.sqrt(1 - q * q)
        nx, ny = X / r, yy / r
        cov = np.clip((r - d) * max(sx, 0.3) + 0.5, 0, 1)
    nx = nx + tilt * 0.6
    nrm = np.sqrt(nx * nx + ny * ny + nz * nz)
    t = _env(nx / nrm, ny / nrm, nz / nrm)
    return _ramp(np.clip(t, 0, 1), stops), cov
