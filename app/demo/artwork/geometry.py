"""Curves and outlines in piece units.

The band's base is 1.0 wide, x in -0.5..0.5, y down, base at y=0.
"""

from __future__ import annotations

import math

import numpy as np


def _bezier(*pts: tuple[float, float], n: int = 40) -> np.ndarray:
    """Sample a cubic (4 points) or quadratic (3 points) Bezier curve."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    p = [np.asarray(q, np.float64) for q in pts]
    if len(p) == 3:
        return (1 - t) ** 2 * p[0] + 2 * (1 - t) * t * p[1] + t**2 * p[2]
    return (
        (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2] + t**3 * p[3]
    )


def _tapered(path: np.ndarray, hw: np.ndarray) -> np.ndarray:
    """Polygon around a centreline with per-point half widths."""
    d = np.gradient(path, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    nrm = np.stack([-d[:, 1], d[:, 0]], axis=1) * np.asarray(hw)[:, None]
    return np.concatenate([path + nrm, (path - nrm)[::-1]])


def _leaf(
    base: tuple[float, float], angle: float, length: float, width: float, bend: float = 0.0
) -> np.ndarray:
    """Pointed leaf polygon from base, pointing at angle (radians, 0 = up, + = clockwise)."""
    t = np.linspace(0.0, 1.0, 24)
    hw = 0.5 * width * np.sin(np.pi * t**0.8) ** 0.9 * (1 - 0.15 * t)
    d = np.array([math.sin(angle), -math.cos(angle)])
    side = np.array([-d[1], d[0]])
    path = np.asarray(base) + t[:, None] * length * d + (bend * length * t**2)[:, None] * side
    return _tapered(path, hw)


def _spiral(
    cx: float, cy: float, r: float, start: float, turns: float, sweep: int, n: int = 90
) -> np.ndarray:
    """A spiral from radius r inwards, starting at angle start (radians, y down), sweep +-1."""
    s = np.linspace(0.0, 1.0, n)
    rho = r * (1 - 0.78 * s**0.9)
    a = start + sweep * s * turns * 2 * np.pi
    return np.stack([cx + rho * np.cos(a), cy + rho * np.sin(a)], axis=1)


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 64) -> np.ndarray:
    """Polygon of an ellipse."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)
