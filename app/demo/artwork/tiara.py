"""Tiaras seen from the front: a curved jewelled band rising to a peak at the centre."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.demo.artwork.canvas import _Canvas, _Layer
from app.demo.artwork.design import PieceDesign
from app.demo.artwork.geometry import _bezier, _ellipse, _leaf, _spiral, _tapered
from app.demo.artwork.slots import _Plan, _Slot, _Slots

_CYL = 0.45
_END = 0.5 - 0.012  # the band's rounded ends are centred just inside the piece's width


@dataclass(frozen=True)
class _Outline:
    """A tiara's outline: the sagging base line, the band on it and the rising top edge."""

    sag: float
    hmax: float
    peak: float

    def base(self, x: np.ndarray | float) -> np.ndarray:
        """How far below the ends the base line sags at x."""
        return self.sag * (1 - (2 * np.asarray(x)) ** 2)

    def hb(self, x: np.ndarray | float) -> np.ndarray:
        """Height of the jewelled base band at x."""
        return 0.026 + 0.012 * (1 - (2 * np.asarray(x)) ** 2)

    def env(self, x: np.ndarray | float) -> np.ndarray:
        """Height of the tiara's outline at x (peaks at the centre)."""
        u = np.clip(2 * np.abs(np.asarray(x)) / 0.98, 0, 1)
        bell = (1 - u**2) ** 1.6 * (1 - self.peak) + self.peak * np.exp(-((u / 0.2) ** 2))
        return self.hb(x) + (self.hmax - 0.03) * bell

    def at(self, x: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
        """Unit point(s) at x and height v above the base line."""
        x = np.asarray(x, np.float64)
        return np.stack(np.broadcast_arrays(x, self.base(x) - np.asarray(v)), -1)


def _fl(a: np.ndarray | float) -> float:
    """A numpy scalar as a Python float."""
    return float(np.asarray(a))


def _xs() -> np.ndarray:
    """Sample positions along the band, end to end."""
    return np.linspace(-_END, _END, 197)


_StyleDrawing = Callable[[_Canvas, _Outline, _Layer, _Layer, _Slots, np.random.Generator], None]


def _tiara(cv: _Canvas, d: PieceDesign, rng: np.random.Generator) -> _Plan:
    """Draw a tiara from the front: a curved band rising to a peak at the centre."""
    slots = _Slots()
    sag = 0.03 + 0.01 * rng.random()
    hmax = {"halo": 0.36, "laurel": 0.34, "wave": 0.34, "sunburst": 0.40}[d.style]
    hmax *= 0.92 + 0.16 * rng.random()
    peak = 0.18 + 0.14 * rng.random()
    o = _Outline(sag, hmax, peak)

    cv.cyl_radius = 0.56 * cv.s
    frame = cv.layer(0.009, cyl=_CYL)
    frame_hi = cv.layer(0.004, z=0.006, cyl=_CYL)
    band = cv.layer(0.008, z=0.002, cyl=_CYL)
    rails = cv.layer(0.005, z=0.008, cyl=_CYL)
    _tiara_band(cv, o, band, rails, slots)
    _DRAW_STYLE[d.style](cv, o, frame, frame_hi, slots, rng)
    return _Plan(slots, (-0.5, 0.0), (0.5, 0.0))


def _tiara_band(cv: _Canvas, o: _Outline, band: _Layer, rails: _Layer, slots: _Slots) -> None:
    """The jewelled base band between two rails, with rounded ends and a row of stones."""
    xs = _xs()
    cv.poly(band, np.concatenate([o.at(xs, o.hb(xs)), o.at(xs, 0.0)[::-1]]))
    cv.stroke(rails, o.at(xs, 0.006), 0.0065)
    cv.stroke(rails, o.at(xs, o.hb(xs) - 0.004), 0.0055)
    for sgn in (-1, 1):
        cv.disc(band, sgn * _END, _fl(o.base(_END)) - 0.013, 0.013)
        cv.stroke(rails, _ellipse(sgn * _END, _fl(o.base(_END)) - 0.013, 0.008, 0.008, 24), 0.003)
    n_row = 41
    for j in range(n_row // 2 + 1):
        x = j * (0.92 / (n_row - 1))
        r = 0.0068 + 0.003 * (1 - 2 * x)
        slots.pair(20 + j * 0.01, _Slot(x, _fl(o.base(x) - o.hb(x) / 2), r, collet=False))


def _halo(
    cv: _Canvas,
    o: _Outline,
    frame: _Layer,
    frame_hi: _Layer,
    slots: _Slots,
    rng: np.random.Generator,
) -> None:
    """A halo: a rim over a row of oval loops linked by scrolls, a stone in every loop."""
    xs = _xs()
    rim = o.at(xs * 0.97, o.env(xs * 0.97) - 0.008)
    cv.stroke(frame, rim, 0.0085)
    cv.stroke(frame_hi, rim, 0.0032)
    n_loops = int(rng.choice([9, 11]))
    span = 0.43
    step = 2 * span / (n_loops - 1)
    for j in range(n_loops // 2 + 1):
        x = j * step
        lo, hi = _fl(o.hb(x)) + 0.006, _fl(o.env(x)) - 0.02
        cy = _fl(o.base(x)) - (lo + hi) / 2
        rx, ry = step * 0.44, (hi - lo) / 2
        if rx < 0.008 or ry < 0.012:
            continue
        for sgn in (1,) if j == 0 else (-1, 1):
            _halo_loop(cv, frame, frame_hi, sgn * x, cy, rx, ry)
            if x + step / 2 < span:
                _halo_scrolls(cv, frame, sgn, sgn * (x + step / 2), cy, ry, step)
        r = min(rx * 0.55, ry * 0.42, 0.036)
        shape = "pear" if j == 0 else ("oval" if ry > rx * 1.3 else "round")
        slots.pair(
            0 if j == 0 else 2 + j * 0.01,
            _Slot(x, cy + (0.1 * ry if j == 0 else 0), r, shape),
        )
        if x > 0:
            top = _Slot(x, _fl(o.base(x) - o.env(x)) + 0.008, 0.008 + 0.006 * r / 0.036, bead=True)
            slots.pair(4 + j * 0.01, top)
        xm = x + step / 2
        if xm < span:
            between = _Slot(xm, _fl(o.base(xm) - o.env(xm)) + 0.008, 0.0065, collet=False)
            slots.pair(6 + j * 0.01, between)
    pk = _fl(o.base(0)) - _fl(o.env(0)) - 0.006
    cv.disc(frame, 0.0, pk - 0.012, 0.026)
    slots.add(1, _Slot(0.0, pk - 0.012, 0.02, bead=True))


def _halo_loop(
    cv: _Canvas, frame: _Layer, frame_hi: _Layer, cx: float, cy: float, rx: float, ry: float
) -> None:
    """One oval loop: a polished ring with a fine inner wire."""
    ring = _ellipse(cx, cy, rx, ry, 72)
    ring = np.concatenate([ring, ring[:1]])
    cv.stroke(frame, ring, 0.0075)
    cv.stroke(frame_hi, ring, 0.0028)
    inner = _ellipse(cx, cy, rx - 0.014, ry - 0.014, 72)
    cv.stroke(frame, np.concatenate([inner, inner[:1]]), 0.0032)


def _halo_scrolls(
    cv: _Canvas, frame: _Layer, sgn: int, gx: float, cy: float, ry: float, step: float
) -> None:
    """The pair of scrolls linking two loops, one curling up and one down."""
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


def _laurel(
    cv: _Canvas,
    o: _Outline,
    frame: _Layer,
    frame_hi: _Layer,
    slots: _Slots,
    rng: np.random.Generator,
) -> None:
    """A laurel: two leafy branches rising to a jewelled rosette under a crest of leaves."""
    leaves = (frame, cv.layer(0.008, z=0.005, cyl=_CYL))
    vein = cv.layer(0.003, z=-0.005, mode="add")
    h0, b0 = _fl(o.env(0)), _fl(o.base(0))
    cy = b0 - h0 * 0.36
    for sgn in (-1, 1):
        _laurel_branch(cv, o, frame, leaves, vein, slots, rng, sgn)
    top = b0 - h0
    for a, ln in ((-0.5, 0.8), (0.0, 1.0), (0.5, 0.8)):
        length = ln * (cy - top) * 0.98
        _laurel_leaf(cv, leaves, vein, np.array([0.0, cy]), a, length, 0.0, int(a == 0))
    cv.disc(frame_hi, 0.0, cy, 0.044)
    slots.add(0, _Slot(0.0, cy, 0.03))
    for j in range(4):
        a = -math.pi / 2 + (j + 0.5) * math.pi / 4
        slots.pair(3 + j * 0.01, _Slot(0.054 * math.cos(a), cy + 0.054 * math.sin(a), 0.009))
    slots.add(1, _Slot(0.0, cy - (cy - top) * 0.62, 0.013))
    slots.add(5, _Slot(0.0, cy - 0.054, 0.009))


def _laurel_leaf(
    cv: _Canvas,
    leaves: tuple[_Layer, _Layer],
    vein: _Layer,
    p: np.ndarray,
    a: float,
    ln: float,
    bend: float,
    i: int,
) -> None:
    """One veined leaf on alternating layers so overlaps stay readable."""
    cv.poly(leaves[i % 2], _leaf((p[0], p[1]), a, ln, ln * 0.42, bend))
    tip = p + ln * 0.8 * np.array([math.sin(a), -math.cos(a)])
    cv.stroke(vein, np.stack([p, tip]), 0.002)


def _laurel_branch(
    cv: _Canvas,
    o: _Outline,
    frame: _Layer,
    leaves: tuple[_Layer, _Layer],
    vein: _Layer,
    slots: _Slots,
    rng: np.random.Generator,
    sgn: int,
) -> None:
    """One branch from a band end towards the centre, leaves in threes and berries."""
    t = np.linspace(0, 1, 80)
    x = sgn * (0.47 - 0.42 * t)
    v = o.hb(x) + (o.env(x) - o.hb(x)) * (0.08 + 0.22 * t**1.3)
    stem = o.at(x, v)
    cv.stroke(frame, stem, np.linspace(0.005, 0.008, 80))
    n_leaf = int(rng.choice([7, 8]))
    for j in range(n_leaf):
        f = (j + 0.35) / n_leaf
        i = int(f * 79)
        p = stem[i]
        tang = stem[min(i + 1, 79)] - stem[max(i - 1, 0)]
        ang = math.atan2(tang[0], -tang[1])  # 0 = up, + = clockwise
        room = p[1] - _fl(o.base(p[0]) - o.env(p[0]))
        up = ang - sgn * (0.95 - 0.25 * f)
        length = min(0.06 + 0.09 * f, room * 1.08 / max(math.cos(up), 0.4))
        if length > 0.02:
            _laurel_leaf(cv, leaves, vein, p, up, length, 0.3 * sgn, j)
        mid = ang - sgn * 0.3
        _laurel_leaf(cv, leaves, vein, p, mid, length * 0.8, 0.2 * sgn, j + 1)
        low = min(length * 0.7, (_fl(o.base(p[0]) - o.hb(p[0])) - p[1]) * 1.4)
        if low > 0.02:
            _laurel_leaf(cv, leaves, vein, p, ang + sgn * 0.75, low, -0.25 * sgn, j)
        if sgn > 0:
            berry = p + 0.014 * np.array([math.sin(ang), -math.cos(ang)])
            slots.pair(2 + j * 0.01, _Slot(berry[0], berry[1], 0.006 + 0.009 * f))


def _wave(
    cv: _Canvas,
    o: _Outline,
    frame: _Layer,
    frame_hi: _Layer,
    slots: _Slots,
    rng: np.random.Generator,
) -> None:
    """Waves: scrolls breaking towards the centre, and a heart of scrolls under a spike."""
    n = int(rng.choice([3, 4]))
    cw = 0.13
    spacing = (0.46 - cw) / n
    prev: tuple[float, float, float] | None = None
    for k in range(n):
        x = 0.46 - spacing * (k + 0.62)
        r = min(0.42 * spacing, 0.3 * _fl(o.env(x) - o.hb(x)))
        v = _fl(o.hb(x)) + r + 0.012
        cx, cy = x, _fl(o.base(x)) - v
        if prev is None:
            p0 = o.at(0.475, _fl(o.hb(0.475)) - 0.004)
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
    _wave_heart(cv, o, frame, frame_hi, slots)


def _wave_heart(cv: _Canvas, o: _Outline, frame: _Layer, frame_hi: _Layer, slots: _Slots) -> None:
    """The centre of a wave tiara: a heart of two scrolls under a spike."""
    h0, b0 = _fl(o.env(0)), _fl(o.base(0))
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


def _sunburst(
    cv: _Canvas,
    o: _Outline,
    frame: _Layer,
    frame_hi: _Layer,
    slots: _Slots,
    rng: np.random.Generator,
) -> None:
    """A sunburst: long and short rays fanning from below the band, linked by swags."""
    origin = np.array([0.0, 0.62])
    n_ray = int(rng.choice([23, 27]))
    rays = []
    for j in range(n_ray // 2 + 1):
        x0 = j * (0.9 / (n_ray - 1))
        p0 = o.at(x0, o.hb(x0) - 0.004)
        dvec = (p0 - origin) / np.linalg.norm(p0 - origin)
        long = j % 2 == 0
        length = _fl(o.env(x0) - o.hb(x0)) * (1.0 if long else 0.62)
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
            slots.pair(4 + j * 0.01, _Slot(tip[0], tip[1] - 0.006, 0.0065, bead=True, collet=False))
    for j in range(len(rays) - 1):
        (pa, da, la), (pb, db, lb) = rays[j], rays[j + 1]
        qa, qb = pa + da * min(la, lb) * 0.34, pb + db * min(la, lb) * 0.34
        mid = (qa + qb) / 2 + [0, 0.02]
        swag = _bezier(tuple(qa), tuple(mid), tuple(qb), n=16)
        for sgn in (-1, 1):
            cv.stroke(frame, swag * [sgn, 1], 0.0035)
    cy0 = _fl(o.base(0)) - _fl(o.hb(0))
    sun = np.concatenate([_ellipse(0.0, cy0, 0.1, 0.1, 64)[32:], [[0.1, cy0]]])
    cv.poly(frame, sun)
    cv.stroke(frame_hi, _ellipse(0.0, cy0, 0.085, 0.085, 64)[32:], 0.0035)
    slots.add(0, _Slot(0.0, cy0 - 0.045, 0.03))
    for j in range(3):
        a = math.pi + (j + 0.5) * math.pi / 6
        slots.pair(3 + j * 0.01, _Slot(-0.074 * math.cos(a), cy0 + 0.074 * math.sin(a), 0.008))


_DRAW_STYLE: dict[str, _StyleDrawing] = {
    "halo": _halo,
    "laurel": _laurel,
    "wave": _wave,
    "sunburst": _sunburst,
}
