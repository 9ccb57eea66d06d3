"""Procedural product artwork: crowns and tiaras drawn with Pillow and numpy, no assets needed.

Pieces are drawn at 2-4x resolution as a height map of metal parts (shaded like polished metal
reflecting a studio), velvet under them and analytic stones over them, then downsampled.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

Stops = tuple[tuple[float, tuple[int, int, int]], ...]

KINDS: tuple[str, ...] = ("crown", "tiara")
STYLES: dict[str, tuple[str, ...]] = {
    "crown": ("fleur", "spire", "arch", "coronet"),
    "tiara": ("halo", "laurel", "wave", "sunburst"),
}
STONE_COLOURS: tuple[str, ...] = (
    "diamond",
    "ruby",
    "sapphire",
    "emerald",
    "pearl",
    "amethyst",
    "none",
)
MAX_STONES = 60

# Colour ramps from deepest reflection (0) to specular highlight (1).
METALS: dict[str, Stops] = {
    "yellow-gold": (
        (0.00, (46, 27, 6)),
        (0.22, (112, 70, 18)),
        (0.45, (190, 136, 44)),
        (0.68, (232, 190, 92)),
        (0.86, (252, 230, 160)),
        (1.00, (255, 252, 232)),
    ),
    "rose-gold": (
        (0.00, (50, 22, 16)),
        (0.22, (120, 62, 46)),
        (0.45, (192, 118, 92)),
        (0.68, (230, 166, 140)),
        (0.86, (250, 212, 194)),
        (1.00, (255, 246, 240)),
    ),
    "white-gold": (
        (0.00, (36, 35, 32)),
        (0.22, (96, 94, 88)),
        (0.45, (164, 161, 152)),
        (0.68, (210, 207, 198)),
        (0.86, (240, 238, 230)),
        (1.00, (255, 255, 252)),
    ),
    "silver": (
        (0.00, (30, 32, 37)),
        (0.22, (92, 96, 104)),
        (0.45, (162, 166, 174)),
        (0.68, (210, 213, 219)),
        (0.86, (240, 242, 246)),
        (1.00, (255, 255, 255)),
    ),
    "platinum": (
        (0.00, (27, 28, 32)),
        (0.22, (80, 83, 90)),
        (0.45, (145, 149, 157)),
        (0.68, (196, 199, 206)),
        (0.86, (232, 234, 239)),
        (1.00, (252, 253, 255)),
    ),
}

GEMS: dict[str, Stops] = {
    "diamond": (
        (0.0, (34, 38, 50)),
        (0.3, (104, 112, 132)),
        (0.6, (196, 204, 222)),
        (0.82, (238, 242, 252)),
        (1.0, (255, 255, 255)),
    ),
    "ruby": (
        (0.0, (40, 0, 10)),
        (0.3, (120, 4, 28)),
        (0.6, (200, 22, 58)),
        (0.82, (245, 92, 118)),
        (1.0, (255, 226, 230)),
    ),
    "sapphire": (
        (0.0, (3, 8, 40)),
        (0.3, (12, 32, 112)),
        (0.6, (32, 78, 196)),
        (0.82, (108, 158, 246)),
        (1.0, (228, 238, 255)),
    ),
    "emerald": (
        (0.0, (0, 26, 16)),
        (0.3, (4, 84, 46)),
        (0.6, (18, 148, 84)),
        (0.82, (92, 212, 150)),
        (1.0, (220, 255, 234)),
    ),
    "amethyst": (
        (0.0, (26, 5, 40)),
        (0.3, (80, 28, 120)),
        (0.6, (142, 72, 192)),
        (0.82, (196, 146, 236)),
        (1.0, (242, 228, 255)),
    ),
}

VELVETS: tuple[tuple[int, int, int], ...] = ((128, 14, 36), (74, 22, 98), (22, 38, 104))


@dataclass(frozen=True)
class PieceDesign:
    """What to draw: a crown or tiara in one metal, style and stone colour."""

    kind: str
    metal: str
    style: str
    stone_colour: str
    stone_count: int
    width_mm: float
    seed: int = 0

    def __post_init__(self) -> None:
        """Reject unknown kinds, metals, styles and stones with a clear message."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.metal not in METALS:
            raise ValueError(f"unknown metal {self.metal!r}; expected one of {', '.join(METALS)}")
        if self.style not in STYLES[self.kind]:
            raise ValueError(
                f"unknown {self.kind} style {self.style!r}; "
                f"expected one of {', '.join(STYLES[self.kind])}"
            )
        if self.stone_colour not in STONE_COLOURS:
            raise ValueError(
                f"unknown stone colour {self.stone_colour!r}; "
                f"expected one of {', '.join(STONE_COLOURS)}"
            )
        if isinstance(self.stone_count, bool) or not isinstance(self.stone_count, int):
            raise ValueError(f"stone_count must be an int, got {self.stone_count!r}")
        if not 0 <= self.stone_count <= MAX_STONES:
            raise ValueError(f"stone_count must be 0..{MAX_STONES}, got {self.stone_count}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        if not (isinstance(self.width_mm, int | float) and 10 <= self.width_mm <= 400):
            raise ValueError(f"width_mm must be a number of mm in 10..400, got {self.width_mm!r}")


# ---------------------------------------------------------------------------------------------
# numpy helpers


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


# ---------------------------------------------------------------------------------------------
# geometry helpers (units: the band's base is 1.0 wide, x in -0.5..0.5, y down, base at y=0)


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


# ---------------------------------------------------------------------------------------------
# stones


@dataclass
class _Slot:
    """A place for a stone; unfilled slots may show a polished metal bead instead."""

    x: float
    y: float
    r: float
    shape: str = "round"
    sx: float = 1.0
    tilt: float = 0.0
    collet: bool = True
    bead: bool = False


@dataclass
class _Slots:
    """Stone places in priority groups of one (on the centre line) or two (mirrored)."""

    groups: list[tuple[float, list[_Slot]]] = field(default_factory=list)

    def add(self, prio: float, *slots: _Slot) -> None:
        """Add a group."""
        self.groups.append((prio, list(slots)))

    def pair(self, prio: float, slot: _Slot) -> None:
        """Add a slot and its mirror image (or just it, if on the centre line)."""
        if abs(slot.x) < 1e-6:
            self.add(prio, slot)
            return
        mirror = _Slot(-slot.x, slot.y, slot.r, slot.shape, slot.sx, -slot.tilt, slot.collet)
        mirror.bead = slot.bead
        self.add(prio, slot, mirror)

    def choose(self, count: int) -> tuple[list[_Slot], list[_Slot]]:
        """Pick exactly count stones by priority (keeping symmetry); the rest may be beads."""
        order = sorted(range(len(self.groups)), key=lambda i: self.groups[i][0])
        chosen: list[_Slot] = []
        taken: set[int] = set()
        left = count
        for i in order:
            g = self.groups[i][1]
            if len(g) <= left:
                chosen.extend(g)
                taken.add(i)
                left -= len(g)
        if left == 1:  # odd count but no single left: swap the last single for a pair
            pair = next((i for i in order if i not in taken and len(self.groups[i][1]) == 2), None)
            single = next(
                (i for i in reversed(order) if i in taken and len(self.groups[i][1]) == 1), None
            )
            if pair is not None and single is not None:
                taken = (taken - {single}) | {pair}
        chosen = [s for i in order if i in taken for s in self.groups[i][1]]
        rest = [s for i in order if i not in taken for s in self.groups[i][1]]
        return chosen, [s for s in rest if s.bead]


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


# ---------------------------------------------------------------------------------------------
# the canvas


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


# ---------------------------------------------------------------------------------------------
# crowns


@dataclass
class _Plan:
    """A drawn piece: its stone slots and the ends of its base line (units)."""

    slots: _Slots
    band_left: tuple[float, float]
    band_right: tuple[float, float]


def _fleur(u: float) -> list[tuple[str, np.ndarray]]:
    """A fleur-de-lis in a unit box (u: width scale, x -0.5..0.5, v 0..1 up); (part, polygon)."""
    parts: list[tuple[str, np.ndarray]] = []
    right = _bezier((0.07, 0.3), (0.26, 0.5), (0.17, 0.8), (0.0, 1.0), n=40)
    parts.append(("petal", np.concatenate([right, (right * [-1, 1])[::-1]])))
    for side in (-1, 1):
        outer = np.concatenate(
            [
                _bezier((0.06, 0.3), (0.1, 0.62), (0.38, 0.86), (0.5, 0.62), n=36),
                _bezier((0.5, 0.62), (0.53, 0.5), (0.47, 0.42), (0.42, 0.34), n=20)[1:],
            ]
        )
        inner = np.concatenate(
            [
                _bezier((0.42, 0.34), (0.44, 0.46), (0.42, 0.56), (0.36, 0.6), n=16),
                _bezier((0.36, 0.6), (0.26, 0.66), (0.14, 0.5), (0.12, 0.3), n=24)[1:],
            ]
        )
        parts.append(("petal", np.concatenate([outer, inner[1:]]) * [side, 1]))
        foot = np.concatenate(
            [
                _bezier((0.05, 0.24), (0.15, 0.22), (0.26, 0.16), (0.26, 0.02), n=20),
                _bezier((0.26, 0.02), (0.2, 0.1), (0.12, 0.14), (0.03, 0.12), n=20)[1:],
            ]
        )
        parts.append(("petal", foot * [side, 1]))
    parts.append(("petal", np.array([[-0.08, -0.02], [0.08, -0.02], [0.07, 0.3], [-0.07, 0.3]])))
    collar = np.array([[-0.21, 0.22], [0.21, 0.22], [0.22, 0.33], [-0.22, 0.33]])
    parts.append(("collar", collar))
    parts.append(("vein", np.array([[0.0, 0.4], [0.0, 0.88]])))
    return [(k, p * [u, 1]) for k, p in parts]


def _cross(u: float) -> list[tuple[str, np.ndarray]]:
    """A cross pattee on a short stem in a unit box."""
    parts: list[tuple[str, np.ndarray]] = []
    c = np.array([0.0, 0.6])
    for ang in (0, 90, 180, 270):
        a = math.radians(ang)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        flare = np.concatenate(
            [
                _bezier((0.03, -0.04), (0.18, -0.05), (0.3, -0.16), n=10),
                [[0.34, -0.14], [0.31, 0.0], [0.34, 0.14]],
                _bezier((0.3, 0.16), (0.18, 0.05), (0.03, 0.04), n=10),
            ]
        )
        parts.append(("petal", c + flare @ rot.T))
    parts.append(("collar", _ellipse(0.0, 0.6, 0.07, 0.07, 24)))
    parts.append(("petal", np.array([[-0.07, 0.0], [0.07, 0.0], [0.05, 0.3], [-0.05, 0.3]])))
    return [(k, p * [u, 1]) for k, p in parts]


def _ogee(u: float) -> list[tuple[str, np.ndarray]]:
    """A pierced ogee point (S-curved sides, teardrop opening) in a unit box."""
    v = np.linspace(0.0, 1.0, 40)
    hw = 0.5 * (1 - _smooth(0.0, 1.0, v)) * (1 - 0.15 * v) + 0.02 * (1 - v)
    outline = _tapered(np.stack([np.zeros_like(v), v], 1), hw)
    t = np.linspace(0.0, 1.0, 30)
    hole = _tapered(np.stack([np.zeros_like(t), 0.3 + 0.42 * t], 1), 0.16 * np.sin(np.pi * t**0.7))
    edge = _tapered(np.stack([np.zeros_like(t), 0.27 + 0.48 * t], 1), 0.2 * np.sin(np.pi * t**0.7))
    parts = [("petal", outline), ("collar", edge), ("hole", hole)]
    return [(k, p * [u, 1]) for k, p in parts]


def _crown(cv: _Canvas, d: PieceDesign, rng: np.random.Generator) -> _Plan:
    """Draw a crown seen from the front (slightly above): band, ornaments, maybe arches."""
    slots = _Slots()
    style = d.style
    R = 0.5
    e = 0.07 + 0.015 * rng.random()
    hb = {"fleur": 0.15, "spire": 0.13, "arch": 0.15, "coronet": 0.12}[style]
    hb *= 0.93 + 0.14 * rng.random()
    n_orn = {
        "fleur": int(rng.choice([10, 14])),
        "spire": int(rng.choice([14, 18])),
        "arch": 8,
        "coronet": int(rng.choice([18, 22])),
    }[style]
    orn_h = {"fleur": 0.3, "spire": 0.36, "arch": 0.17, "coronet": 0.17}[style]
    orn_h *= 0.92 + 0.16 * rng.random()
    orn_w = {"fleur": 0.34, "spire": 0.09, "arch": 0.16, "coronet": 0.2}[style]
    if style in ("fleur", "arch"):
        orn_w *= (8 / n_orn) ** 0.5
    elif style == "coronet":
        orn_w = 2 * math.pi * R / n_orn * 1.02
    k_cyl, bevel = 0.9, 0.012

    xs = np.linspace(-R, R, 161)
    c = np.sqrt(np.clip(1 - (xs / R) ** 2, 0, 1))
    front_top = np.stack([xs, -hb + e * R * c], 1)
    back_top = np.stack([xs, -hb - e * R * c], 1)
    bottom = np.stack([xs, e * R * c], 1)

    if style != "arch":
        back = cv.layer(bevel, tone=0.55, cyl=-k_cyl)
        back_hi = cv.layer(bevel * 0.5, z=0.004, tone=0.55, cyl=-k_cyl)
        inner = cv.layer(0.004, tone=0.5, cyl=-k_cyl)
    orn = cv.layer(bevel, cyl=k_cyl)
    orn_hi = cv.layer(bevel * 0.6, z=0.006, cyl=k_cyl)
    vein = cv.layer(0.003, z=-0.006, mode="add")
    band = cv.layer(0.01, cyl=k_cyl)
    band_dec = cv.layer(0.003, z=-0.004, mode="add")
    rims = cv.layer(0.007, z=0.006, cyl=k_cyl)

    def place(theta: float, shapes: list[tuple[str, np.ndarray]], w: float, hgt: float) -> None:
        """Put an ornament (unit-box shapes) on the band's top edge at angle theta."""
        ct = math.cos(theta)
        x0, y0 = R * math.sin(theta), -hb + e * R * ct + 0.012
        for key, p in shapes:
            q = np.stack([x0 + p[:, 0] * w * abs(ct), y0 - p[:, 1] * hgt], 1)
            if key == "vein":
                if ct > 0:
                    cv.stroke(vein, q, 0.004)
            elif key == "hole":
                cv.poly(orn if ct > 0 else back, q, fill=0)
                cv.poly(orn_hi if ct > 0 else back_hi, q, fill=0)
            elif ct > 0:
                cv.poly(orn if key == "petal" else orn_hi, q)
            else:
                cv.poly(back if key == "petal" else back_hi, q)

    thetas = [(2 * math.pi * i / n_orn + math.pi) % (2 * math.pi) - math.pi for i in range(n_orn)]
    for front_pass in (False, True):
        if front_pass and style != "arch":
            cv.poly(inner, np.concatenate([back_top, front_top[::-1]]))
        for th in thetas:
            ct, st = math.cos(th), math.sin(th)
            if abs(ct) < 0.2 or (ct > 0) != front_pass or (style == "arch" and ct < 0):
                continue
            major = round(th / (2 * math.pi / n_orn)) % 2 == 0
            x0, yb = R * st, -hb + e * R * ct + 0.012
            centre = abs(th) < 1e-6
            sx, tilt = abs(ct), st * 0.8
            want = ct > 0 and th > -1e-9  # slots.pair adds the mirror image
            if style == "fleur":
                if major:
                    place(th, _fleur(1.0), orn_w, orn_h)
                    slot = _Slot(x0, yb - orn_h * 0.58, 0.02, "oval", sx, tilt)
                    if want:
                        slots.pair(2 if centre else 3, slot)
                else:
                    w, h = orn_w * 0.62, orn_h * 0.6
                    place(th, _cross(1.0), w, h)
                    if want:
                        slots.pair(5, _Slot(x0, yb - h * 0.6, 0.013, sx=sx, tilt=tilt))
            elif style == "spire":
                tall = orn_h * (1.0 if major else 0.62) * (1.12 if centre else 1.0)
                s_ = np.linspace(0, 1, 30)
                spike = np.stack([np.zeros(30), s_], 1)
                place(th, [("petal", _tapered(spike, 0.5 * (1 - s_) ** 1.5 + 0.035))], orn_w, tall)
                ridge = _tapered(spike * [1, 0.92], 0.1 * (1 - s_) + 0.02)
                place(th, [("collar", ridge)], orn_w, tall)
                if want:
                    tip = _Slot(x0, yb - tall - 0.012, 0.017, sx=sx, tilt=tilt, bead=True)
                    slots.pair(2 if centre else 4, tip)
                    if major:
                        slots.pair(3, _Slot(x0, yb - tall * 0.3, 0.016, "oval", sx, tilt))
            elif style == "coronet":
                place(th, _ogee(1.0), orn_w, orn_h)
                if want:
                    top = _Slot(x0, yb - orn_h - 0.014, 0.017, sx=sx, tilt=tilt, collet=False)
                    top.bead = True
                    slots.pair(2 if centre else 2.5, top)
                    slots.pair(3, _Slot(x0, yb - orn_h * 0.16, 0.012, sx=sx, tilt=tilt))
            elif major:  # arch: crosses at the arch feet, fleurs between
                h = orn_h * 1.2
                place(th, _cross(1.0), orn_w, h)
                if want:
                    slots.pair(4, _Slot(x0, yb - h * 0.6, 0.012, sx=sx, tilt=tilt))
            else:
                place(th, _fleur(1.0), orn_w * 0.9, orn_h)

    if style == "arch":
        _arches(cv, slots, rng, R, hb, e, orn_h * 1.2, front_top, k_cyl)

    cv.poly(band, np.concatenate([front_top, bottom[::-1]]))
    cv.stroke(rims, front_top, 0.011)
    cv.stroke(rims, bottom + [0, -0.005], 0.012)
    # Band stones: big ones under the main ornaments, small pairs between, pave on the rims.
    big_r = min(0.34 * hb, 0.042)
    step = 4 * math.pi / n_orn
    for th in np.arange(0.0, math.pi / 2, step):
        ct, st = math.cos(th), math.sin(th)
        cy = -hb / 2 + e * R * ct
        if ct > 0.3:
            slots.pair(0 if th == 0 else 1, _Slot(R * st, cy, big_r, "oval", ct, st * 0.8))
            ring = _ellipse(R * st, cy, big_r * 1.55 * ct, big_r * 1.45, 48)
            cv.stroke(band_dec, np.concatenate([ring, ring[:1]]), 0.0035)
        tm = th + step / 2
        cm, sm = math.cos(tm), math.sin(tm)
        if cm > 0.25:
            for dy in (-0.22, 0.22):
                small = _Slot(R * sm, -hb / 2 + dy * hb + e * R * cm, 0.28 * big_r, sx=cm)
                small.tilt = sm * 0.8
                slots.pair(5.5, small)
            line = np.array([[R * sm, -hb * 0.78 + e * R * cm], [R * sm, -hb * 0.22 + e * R * cm]])
            cv.stroke(band_dec, line, 0.003)
    n_pave = 27
    for j in range(n_pave // 2 + 1):
        th = j * math.pi * 0.82 / (n_pave - 1)
        ct, st = math.cos(th), math.sin(th)
        for row, yb in enumerate((-hb, -0.005)):
            slot = _Slot(R * st, yb + e * R * ct, 0.0075, sx=ct, tilt=st * 0.8, collet=False)
            slot.bead = style == "coronet" and row == 0
            slots.pair(9 + row + th * 0.01, slot)
    return _Plan(slots, (-R, 0.0), (R, 0.0))


def _arches(
    cv: _Canvas,
    slots: _Slots,
    rng: np.random.Generator,
    R: float,
    hb: float,
    e: float,
    cross_h: float,
    front_top: np.ndarray,
    k_cyl: float,
) -> None:
    """Two crossing arches over a velvet cap, topped by a monde and cross."""
    A = 0.4 + 0.05 * rng.random()
    yc = -hb - A
    phi = np.linspace(0, np.pi / 2, 60)
    side = np.stack([R * 0.985 * np.cos(phi), -hb - A * np.sin(phi)], 1)
    side[:, 1] += 0.06 * A * np.sin(phi) ** 12  # the arches dip where they cross
    yc = float(side[-1, 1])
    left = side * [-1, 1]
    cap = VELVETS[int(rng.integers(0, 2))]
    cv.velvet(np.concatenate([side, left[::-1][1:], front_top]), cap, 0.06)
    arches = cv.layer(0.014, z=0.01, cyl=k_cyl * 0.3)
    arch_hi = cv.layer(0.006, z=0.018, cyl=k_cyl * 0.3)
    for sgn in (-1, 1):
        cv.stroke(arches, side * [sgn, 1], np.linspace(0.024, 0.016, 60))
        cv.stroke(arch_hi, side * [sgn, 1], np.linspace(0.008, 0.006, 60))
    y_from = -hb + e * R + 0.012 - cross_h * 0.9
    front = np.stack([np.zeros(40), np.linspace(y_from, yc, 40)], 1)
    cv.stroke(arches, front, np.linspace(0.026, 0.018, 40))
    cv.stroke(arch_hi, front, 0.008)
    for j in range(1, 9):
        p = side[int(j / 9 * 59)]
        slots.pair(6 + j * 0.01, _Slot(p[0] - 0.027, p[1], 0.011, collet=False, bead=True))
    for j in range(1, 6):
        y = y_from + (yc - y_from) * j / 6
        slots.pair(7 + j * 0.01, _Slot(0.033, y, 0.011, collet=False, bead=True))
        slots.pair(5 + j * 0.01, _Slot(0.0, y, 0.012))
    monde = cv.layer(0.05, z=0.012)
    cv.disc(monde, 0.0, yc - 0.055, 0.058)
    monde_hi = cv.layer(0.006, z=0.04)
    belt = _bezier((-0.057, yc - 0.05), (0, yc - 0.035), (0.057, yc - 0.05), n=30)
    cv.poly(monde_hi, _tapered(belt, np.full(30, 0.009)))
    cv.stroke(monde_hi, np.array([[0.0, yc - 0.11], [0.0, yc - 0.0]]), 0.007)
    for key, p in _cross(1.0):
        q = np.stack([p[:, 0] * 0.13, yc - 0.1 - p[:, 1] * 0.16], 1)
        cv.poly(monde if key == "petal" else monde_hi, q)
    slots.add(1, _Slot(0.0, yc - 0.1 - 0.6 * 0.16, 0.017))
    slots.add(8, _Slot(0.0, yc - 0.05, 0.016))


# ---------------------------------------------------------------------------------------------
# tiaras


def _tiara(cv: _Canvas, d: PieceDesign, rng: np.random.Generator) -> _Plan:
    """Draw a tiara from the front: a curved band rising to a peak at the centre."""
    slots = _Slots()
    style = d.style
    sag = 0.03 + 0.01 * rng.random()
    hmax = {"halo": 0.36, "laurel": 0.34, "wave": 0.34, "sunburst": 0.40}[style]
    hmax *= 0.92 + 0.16 * rng.random()
    peak = 0.18 + 0.14 * rng.random()

    def base(x: np.ndarray | float) -> np.ndarray:
        """How far below the ends the base line sags at x."""
        return sag * (1 - (2 * np.asarray(x)) ** 2)

    def hb(x: np.ndarray | float) -> np.ndarray:
        """Height of the jewelled base band at x."""
        return 0.026 + 0.012 * (1 - (2 * np.asarray(x)) ** 2)

    def env(x: np.ndarray | float) -> np.ndarray:
        """Height of the tiara's outline at x (peaks at the centre)."""
        u = np.clip(2 * np.abs(np.asarray(x)) / 0.98, 0, 1)
        bell = (1 - u**2) ** 1.6 * (1 - peak) + peak * np.exp(-((u / 0.2) ** 2))
        return hb(x) + (hmax - 0.03) * bell

    def at(x: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
        """Unit point(s) at x and height v above the base line."""
        x = np.asarray(x, np.float64)
        return np.stack(np.broadcast_arrays(x, base(x) - np.asarray(v)), -1)

    def fl(a: np.ndarray | float) -> float:
        """A numpy scalar as a Python float."""
        return float(np.asarray(a))

    cv.cyl_radius = 0.56 * cv.s
    k_cyl = 0.45
    frame = cv.layer(0.009, cyl=k_cyl)
    frame_hi = cv.layer(0.004, z=0.006, cyl=k_cyl)
    band = cv.layer(0.008, z=0.002, cyl=k_cyl)
    rails = cv.layer(0.005, z=0.008, cyl=k_cyl)

    xe = 0.5 - 0.012
    xs = np.linspace(-xe, xe, 197)
    cv.poly(band, np.concatenate([at(xs, hb(xs)), at(xs, 0.0)[::-1]]))
    cv.stroke(rails, at(xs, 0.006), 0.0065)
    cv.stroke(rails, at(xs, hb(xs) - 0.004), 0.0055)
    for sgn in (-1, 1):
        cv.disc(band, sgn * xe, fl(base(xe)) - 0.013, 0.013)
        cv.stroke(rails, _ellipse(sgn * xe, fl(base(xe)) - 0.013, 0.008, 0.008, 24), 0.003)
    n_row = 41
    for j in range(n_row // 2 + 1):
        x = j * (0.92 / (n_row - 1))
        r = 0.0068 + 0.003 * (1 - 2 * x)
        slots.pair(20 + j * 0.01, _Slot(x, fl(base(x) - hb(x) / 2), r, collet=False))
    h0, b0 = fl(env(0)), fl(base(0))

    if style == "halo":
        rim = at(xs * 0.97, env(xs * 0.97) - 0.008)
        cv.stroke(frame, rim, 0.0085)
        cv.stroke(frame_hi, rim, 0.0032)
        n_loops = int(rng.choice([9, 11]))
        span = 0.43
        step = 2 * span / (n_loops - 1)
        for j in range(n_loops // 2 + 1):
            x = j * step
            lo, hi = fl(hb(x)) + 0.006, fl(env(x)) - 0.02
            cy = fl(base(x)) - (lo + hi) / 2
            rx, ry = step * 0.44, (hi - lo) / 2
            if rx < 0.008 or ry < 0.012:
                continue
            for sgn in (1,) if j == 0 else (-1, 1):
                ring = _ellipse(sgn * x, cy, rx, ry, 72)
                ring = np.concatenate([ring, ring[:1]])
                cv.stroke(frame, ring, 0.0075)
                cv.stroke(frame_hi, ring, 0.0028)
                inner = _ellipse(sgn * x, cy, rx - 0.014, ry - 0.014, 72)
                cv.stroke(frame, np.concatenate([inner, inner[:1]]), 0.0032)
                if x + step / 2 < span:
                    gx = sgn * (x + step / 2)
                    for up in (-1, 1):
                        sc = _spiral(
                            gx,
                            cy + up * ry * 0.45,
                            min(step * 0.16, ry * 0.3),
                            -np.pi / 2 * up,
                            0.85,
                            sgn * up,
                        )
                        cv.stroke(frame, sc, np.linspace(0.005, 0.003, len(sc)))
            r = min(rx * 0.55, ry * 0.42, 0.036)
            shape = "pear" if j == 0 else ("oval" if ry > rx * 1.3 else "round")
            slots.pair(
                0 if j == 0 else 2 + j * 0.01,
                _Slot(x, cy + (0.1 * ry if j == 0 else 0), r, shape),
            )
            if x > 0:
                top = _Slot(x, fl(base(x) - env(x)) + 0.008, 0.008 + 0.006 * r / 0.036, bead=True)
                slots.pair(4 + j * 0.01, top)
            xm = x + step / 2
            if xm < span:
                between = _Slot(xm, fl(base(xm) - env(xm)) + 0.008, 0.0065, collet=False)
                slots.pair(6 + j * 0.01, between)
        pk = b0 - h0 - 0.006
        cv.disc(frame, 0.0, pk - 0.012, 0.026)
        slots.add(1, _Slot(0.0, pk - 0.012, 0.02, bead=True))
    elif style == "laurel":
        leaves = (frame, cv.layer(0.008, z=0.005, cyl=k_cyl))
        vein2 = cv.layer(0.003, z=-0.005, mode="add")
        cy = b0 - h0 * 0.36

        def leaf(p: np.ndarray, a: float, ln: float, bend: float, i: int) -> None:
            """One veined leaf on alternating layers so overlaps stay readable."""
            cv.poly(leaves[i % 2], _leaf((p[0], p[1]), a, ln, ln * 0.42, bend))
            tip = p + ln * 0.8 * np.array([math.sin(a), -math.cos(a)])
            cv.stroke(vein2, np.stack([p, tip]), 0.002)

        for sgn in (-1, 1):
            t = np.linspace(0, 1, 80)
            x = sgn * (0.47 - 0.42 * t)
            v = hb(x) + (env(x) - hb(x)) * (0.08 + 0.22 * t**1.3)
            stem = at(x, v)
            cv.stroke(frame, stem, np.linspace(0.005, 0.008, 80))
            n_leaf = int(rng.choice([7, 8]))
            for j in range(n_leaf):
                f = (j + 0.35) / n_leaf
                i = int(f * 79)
                p = stem[i]
                tang = stem[min(i + 1, 79)] - stem[max(i - 1, 0)]
                ang = math.atan2(tang[0], -tang[1])  # 0 = up, + = clockwise
                room = p[1] - fl(base(p[0]) - env(p[0]))
                up = ang - sgn * (0.95 - 0.25 * f)
                length = min(0.06 + 0.09 * f, room * 1.08 / max(math.cos(up), 0.4))
                if length > 0.02:
                    leaf(p, up, length, 0.3 * sgn, j)
                mid = ang - sgn * 0.3
                leaf(p, mid, length * 0.8, 0.2 * sgn, j + 1)
                low = min(length * 0.7, (fl(base(p[0]) - hb(p[0])) - p[1]) * 1.4)
                if low > 0.02:
                    leaf(p, ang + sgn * 0.75, low, -0.25 * sgn, j)
                if sgn > 0:
                    berry = p + 0.014 * np.array([math.sin(ang), -math.cos(ang)])
                    slots.pair(2 + j * 0.01, _Slot(berry[0], berry[1], 0.006 + 0.009 * f))
        top = b0 - h0
        for a, ln in ((-0.5, 0.8), (0.0, 1.0), (0.5, 0.8)):
            length = ln * (cy - top) * 0.98
            leaf(np.array([0.0, cy]), a, length, 0.0, int(a == 0))
        cv.disc(frame_hi, 0.0, cy, 0.044)
        slots.add(0, _Slot(0.0, cy, 0.03))
        for j in range(4):
            a = -math.pi / 2 + (j + 0.5) * math.pi / 4
            slots.pair(3 + j * 0.01, _Slot(0.054 * math.cos(a), cy + 0.054 * math.sin(a), 0.009))
        slots.add(1, _Slot(0.0, cy - (cy - top) * 0.62, 0.013))
        slots.add(5, _Slot(0.0, cy - 0.054, 0.009))
    elif style == "wave":
        n = int(rng.choice([3, 4]))
        cw = 0.13
        spacing = (0.46 - cw) / n
        prev: tuple[float, float, float] | None = None
        for k in range(n):
            x = 0.46 - spacing * (k + 0.62)
            r = min(0.42 * spacing, 0.3 * fl(env(x) - hb(x)))
            v = fl(hb(x)) + r + 0.012
            cx, cy = x, fl(base(x)) - v
            if prev is None:
                p0 = at(0.475, fl(hb(0.475)) - 0.004)
                p1 = p0 + [-0.03, -0.01]
            else:
                px_, py_, pr = prev
                p0 = np.array([px_, py_ + pr])
                p1 = p0 + [-spacing * 0.55, 0.0]
            p3 = np.array([cx, cy - r])
            p2 = p3 + [r * 0.9, 0.0]
            rise = _bezier(tuple(p0), tuple(p1), tuple(p2), tuple(p3), n=40)
            sp = _spiral(cx, cy, r, -np.pi / 2, 0.95, -1)
            path = np.concatenate([rise, sp[1:]])
            w = np.linspace(0.0085, 0.004, len(path))
            crest = _Slot(cx - 0.2 * r, cy - r - 0.016, 0.006 + 0.004 * k / n, bead=True)
            for sgn in (-1, 1):
                m = np.array([sgn, 1])
                cv.stroke(frame, path * m, w)
                cv.stroke(frame_hi, path * m, w * 0.4)
                tipc = np.array([cx - 0.2 * r, cy - r]) * m
                cv.stroke(frame, np.stack([tipc, tipc + [0, -0.012]]), 0.004)
            eye = _Slot(cx - 0.12 * r, cy + 0.05 * r, 0.44 * r)
            slots.pair(2 + k * 0.01, eye)
            slots.pair(4 + k * 0.01, crest)
            prev = (cx, cy, r)
        for sgn in (-1, 1):
            heart = np.concatenate(
                [
                    _bezier(
                        (0.0, b0 - 0.04),
                        (0.11, b0 - h0 * 0.25),
                        (0.12, b0 - h0 * 0.75),
                        (0.045, b0 - h0 * 0.78),
                        n=50,
                    ),
                    _spiral(0.045, b0 - h0 * 0.7, h0 * 0.08, -np.pi / 2, 0.8, -1)[1:],
                ]
            ) * [sgn, 1]
            cv.stroke(frame, heart, np.linspace(0.009, 0.004, len(heart)))
            cv.stroke(frame_hi, heart, np.linspace(0.0035, 0.0015, len(heart)))
            foot = _spiral(sgn * 0.07, b0 - 0.05, 0.022, np.pi / 2, 0.8, sgn)
            cv.stroke(frame, foot, 0.004)
            if sgn > 0:
                for j in range(6):
                    p = heart[8 + j * 6]
                    slots.pair(6 + j * 0.01, _Slot(p[0], p[1], 0.0055, collet=False))
        spike = np.stack([np.zeros(20), np.linspace(b0 - h0 * 0.74, b0 - h0 - 0.01, 20)], 1)
        cv.poly(frame, _tapered(spike, np.linspace(0.014, 0.003, 20)))
        slots.add(0, _Slot(0.0, b0 - h0 * 0.42, min(0.036, h0 * 0.12), "pear"))
        cv.disc(frame, 0.0, b0 - h0 - 0.02, 0.021)
        slots.add(1, _Slot(0.0, b0 - h0 - 0.02, 0.017, bead=True))
    else:  # sunburst
        origin = np.array([0.0, 0.62])
        n_ray = int(rng.choice([23, 27]))
        rays = []
        for j in range(n_ray // 2 + 1):
            x0 = j * (0.9 / (n_ray - 1))
            p0 = at(x0, hb(x0) - 0.004)
            dvec = (p0 - origin) / np.linalg.norm(p0 - origin)
            long = j % 2 == 0
            length = fl(env(x0) - hb(x0)) * (1.0 if long else 0.62)
            t = np.linspace(0, 1, 30)
            path = p0 + t[:, None] * length * dvec
            hw = (0.0105 if long else 0.0075) * (1 - t) ** 0.9 + 0.0018
            tip = p0 + length * dvec
            rays.append((p0, dvec, length))
            for sgn in (1,) if j == 0 else (-1, 1):
                m = np.array([sgn, 1])
                cv.poly(frame, _tapered(path * m, hw))
                cv.stroke(frame_hi, path[:26] * m, 0.0022)
            if long:
                r = 0.009 + 0.014 * (1 - 2 * x0)
                tip_slot = _Slot(tip[0], tip[1] - r * 0.8, r, bead=True)
                slots.pair(1 if j == 0 else 2 + j * 0.01, tip_slot)
            else:
                slots.pair(
                    4 + j * 0.01, _Slot(tip[0], tip[1] - 0.006, 0.0065, bead=True, collet=False)
                )
        for j in range(len(rays) - 1):
            (pa, da, la), (pb, db, lb) = rays[j], rays[j + 1]
            qa, qb = pa + da * min(la, lb) * 0.34, pb + db * min(la, lb) * 0.34
            mid = (qa + qb) / 2 + [0, 0.02]
            swag = _bezier(tuple(qa), tuple(mid), tuple(qb), n=16)
            for sgn in (-1, 1):
                cv.stroke(frame, swag * [sgn, 1], 0.0035)
        cy0 = b0 - fl(hb(0))
        sun = np.concatenate([_ellipse(0.0, cy0, 0.1, 0.1, 64)[32:], [[0.1, cy0]]])
        cv.poly(frame, sun)
        cv.stroke(frame_hi, _ellipse(0.0, cy0, 0.085, 0.085, 64)[32:], 0.0035)
        slots.add(0, _Slot(0.0, cy0 - 0.045, 0.03))
        for j in range(3):
            a = math.pi + (j + 0.5) * math.pi / 6
            slots.pair(3 + j * 0.01, _Slot(-0.074 * math.cos(a), cy0 + 0.074 * math.sin(a), 0.008))
    return _Plan(slots, (-0.5, 0.0), (0.5, 0.0))


# ---------------------------------------------------------------------------------------------
# public API


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


def png_bytes(image: Image.Image) -> bytes:
    """Encode an image as an optimised PNG."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
