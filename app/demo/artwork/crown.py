"""Crowns seen from the front: a band, ornaments on its top edge, maybe arches over a cap."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.demo.artwork.canvas import _Canvas, _Layer
from app.demo.artwork.design import PieceDesign
from app.demo.artwork.geometry import _bezier, _ellipse, _tapered
from app.demo.artwork.palette import VELVETS
from app.demo.artwork.shading import _smooth
from app.demo.artwork.slots import _Plan, _Slot, _Slots


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


# The band is a cylinder of radius _R seen from the front, so the piece is 1.0 wide.
_R = 0.5
_CYL = 0.9  # how much of the band's roundness shows in the metal's height map
_BEVEL = 0.012


@dataclass(eq=False)
class _CrownShape:
    """A crown's proportions (units) and the outlines of its band."""

    style: str
    e: float  # half-height of the rim ellipses over the radius: the view from slightly above
    hb: float  # band height
    n_orn: int  # ornaments around the whole band
    orn_h: float
    orn_w: float
    front_top: np.ndarray
    back_top: np.ndarray
    bottom: np.ndarray

    def top_y(self, ct: float) -> float:
        """Where an ornament stands on the band's top edge, at cos(angle) ct."""
        return -self.hb + self.e * _R * ct + 0.012


@dataclass
class _CrownLayers:
    """The crown's metal layers; arched crowns have no back half (their cap hides it)."""

    back: _Layer | None
    back_hi: _Layer | None
    inner: _Layer | None
    orn: _Layer
    orn_hi: _Layer
    vein: _Layer
    band: _Layer
    band_dec: _Layer
    rims: _Layer

    def solid(self, front: bool) -> _Layer | None:
        """The ornament layer for the front or the back half."""
        return self.orn if front else self.back

    def detail(self, front: bool) -> _Layer | None:
        """The raised-detail layer for the front or the back half."""
        return self.orn_hi if front else self.back_hi


def _crown(cv: _Canvas, d: PieceDesign, rng: np.random.Generator) -> _Plan:
    """Draw a crown seen from the front (slightly above): band, ornaments, maybe arches."""
    slots = _Slots()
    shape = _crown_shape(d.style, rng)
    lays = _crown_layers(cv, d.style)
    _ornaments(cv, lays, shape, slots)
    if d.style == "arch":
        _arches(cv, slots, rng, _R, shape.hb, shape.e, shape.orn_h * 1.2, shape.front_top, _CYL)
    _band(cv, lays, shape, slots)
    return _Plan(slots, (-_R, 0.0), (_R, 0.0))


def _crown_shape(style: str, rng: np.random.Generator) -> _CrownShape:
    """Draw a crown's proportions for its style."""
    e = 0.07 + 0.015 * rng.random()
    hb = {"fleur": 0.15, "spire": 0.13, "arch": 0.15, "coronet": 0.12}[style]
    hb *= 0.93 + 0.14 * rng.random()
    # Every style's choice is drawn, whichever is used, so later draws stay where they were.
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
        orn_w = 2 * math.pi * _R / n_orn * 1.02

    xs = np.linspace(-_R, _R, 161)
    c = np.sqrt(np.clip(1 - (xs / _R) ** 2, 0, 1))
    front_top = np.stack([xs, -hb + e * _R * c], 1)
    back_top = np.stack([xs, -hb - e * _R * c], 1)
    bottom = np.stack([xs, e * _R * c], 1)
    return _CrownShape(style, e, hb, n_orn, orn_h, orn_w, front_top, back_top, bottom)


def _crown_layers(cv: _Canvas, style: str) -> _CrownLayers:
    """Create the crown's layers back to front (they composite in creation order)."""
    back = back_hi = inner = None
    if style != "arch":
        back = cv.layer(_BEVEL, tone=0.55, cyl=-_CYL)
        back_hi = cv.layer(_BEVEL * 0.5, z=0.004, tone=0.55, cyl=-_CYL)
        inner = cv.layer(0.004, tone=0.5, cyl=-_CYL)
    orn = cv.layer(_BEVEL, cyl=_CYL)
    orn_hi = cv.layer(_BEVEL * 0.6, z=0.006, cyl=_CYL)
    vein = cv.layer(0.003, z=-0.006, mode="add")
    band = cv.layer(0.01, cyl=_CYL)
    band_dec = cv.layer(0.003, z=-0.004, mode="add")
    rims = cv.layer(0.007, z=0.006, cyl=_CYL)
    return _CrownLayers(back, back_hi, inner, orn, orn_hi, vein, band, band_dec, rims)


def _place(
    cv: _Canvas,
    lays: _CrownLayers,
    shape: _CrownShape,
    theta: float,
    shapes: list[tuple[str, np.ndarray]],
    w: float,
    hgt: float,
) -> None:
    """Put an ornament (unit-box shapes) on the band's top edge at angle theta."""
    ct = math.cos(theta)
    x0, y0 = _R * math.sin(theta), shape.top_y(ct)
    front = ct > 0
    for key, p in shapes:
        q = np.stack([x0 + p[:, 0] * w * abs(ct), y0 - p[:, 1] * hgt], 1)
        if key == "vein":
            if front:
                cv.stroke(lays.vein, q, 0.004)
        elif key == "hole":
            cv.poly(lays.solid(front), q, fill=0)
            cv.poly(lays.detail(front), q, fill=0)
        else:
            cv.poly(lays.solid(front) if key == "petal" else lays.detail(front), q)


def _ornaments(cv: _Canvas, lays: _CrownLayers, shape: _CrownShape, slots: _Slots) -> None:
    """The ornaments round the band: the back half first, then the inside, then the front."""
    n_orn = shape.n_orn
    thetas = [(2 * math.pi * i / n_orn + math.pi) % (2 * math.pi) - math.pi for i in range(n_orn)]
    for front_pass in (False, True):
        if front_pass and lays.inner is not None:
            cv.poly(lays.inner, np.concatenate([shape.back_top, shape.front_top[::-1]]))
        for th in thetas:
            ct = math.cos(th)
            if abs(ct) < 0.2 or (ct > 0) != front_pass or (shape.style == "arch" and ct < 0):
                continue
            _ornament(cv, lays, shape, slots, th)


def _ornament(
    cv: _Canvas, lays: _CrownLayers, shape: _CrownShape, slots: _Slots, th: float
) -> None:
    """One ornament in the crown's style at angle th, and the stone places on it."""
    style, n_orn, orn_h, orn_w = shape.style, shape.n_orn, shape.orn_h, shape.orn_w
    ct, st = math.cos(th), math.sin(th)
    major = round(th / (2 * math.pi / n_orn)) % 2 == 0
    x0, yb = _R * st, shape.top_y(ct)
    centre = abs(th) < 1e-6
    sx, tilt = abs(ct), st * 0.8
    want = ct > 0 and th > -1e-9  # slots.pair adds the mirror image
    if style == "fleur":
        if major:
            _place(cv, lays, shape, th, _fleur(1.0), orn_w, orn_h)
            slot = _Slot(x0, yb - orn_h * 0.58, 0.02, "oval", sx, tilt)
            if want:
                slots.pair(2 if centre else 3, slot)
        else:
            w, h = orn_w * 0.62, orn_h * 0.6
            _place(cv, lays, shape, th, _cross(1.0), w, h)
            if want:
                slots.pair(5, _Slot(x0, yb - h * 0.6, 0.013, sx=sx, tilt=tilt))
    elif style == "spire":
        tall = orn_h * (1.0 if major else 0.62) * (1.12 if centre else 1.0)
        s_ = np.linspace(0, 1, 30)
        spike = np.stack([np.zeros(30), s_], 1)
        blade = _tapered(spike, 0.5 * (1 - s_) ** 1.5 + 0.035)
        _place(cv, lays, shape, th, [("petal", blade)], orn_w, tall)
        ridge = _tapered(spike * [1, 0.92], 0.1 * (1 - s_) + 0.02)
        _place(cv, lays, shape, th, [("collar", ridge)], orn_w, tall)
        if want:
            tip = _Slot(x0, yb - tall - 0.012, 0.017, sx=sx, tilt=tilt, bead=True)
            slots.pair(2 if centre else 4, tip)
            if major:
                slots.pair(3, _Slot(x0, yb - tall * 0.3, 0.016, "oval", sx, tilt))
    elif style == "coronet":
        _place(cv, lays, shape, th, _ogee(1.0), orn_w, orn_h)
        if want:
            top = _Slot(x0, yb - orn_h - 0.014, 0.017, sx=sx, tilt=tilt, collet=False)
            top.bead = True
            slots.pair(2 if centre else 2.5, top)
            slots.pair(3, _Slot(x0, yb - orn_h * 0.16, 0.012, sx=sx, tilt=tilt))
    elif major:  # arch: crosses at the arch feet, fleurs between
        h = orn_h * 1.2
        _place(cv, lays, shape, th, _cross(1.0), orn_w, h)
        if want:
            slots.pair(4, _Slot(x0, yb - h * 0.6, 0.012, sx=sx, tilt=tilt))
    else:
        _place(cv, lays, shape, th, _fleur(1.0), orn_w * 0.9, orn_h)


def _band(cv: _Canvas, lays: _CrownLayers, shape: _CrownShape, slots: _Slots) -> None:
    """The band with its rims, engraved settings and stone places."""
    hb, e, n_orn = shape.hb, shape.e, shape.n_orn
    cv.poly(lays.band, np.concatenate([shape.front_top, shape.bottom[::-1]]))
    cv.stroke(lays.rims, shape.front_top, 0.011)
    cv.stroke(lays.rims, shape.bottom + [0, -0.005], 0.012)
    # Band stones: big ones under the main ornaments, small pairs between, pave on the rims.
    big_r = min(0.34 * hb, 0.042)
    step = 4 * math.pi / n_orn
    for th in np.arange(0.0, math.pi / 2, step):
        ct, st = math.cos(th), math.sin(th)
        cy = -hb / 2 + e * _R * ct
        if ct > 0.3:
            slots.pair(0 if th == 0 else 1, _Slot(_R * st, cy, big_r, "oval", ct, st * 0.8))
            ring = _ellipse(_R * st, cy, big_r * 1.55 * ct, big_r * 1.45, 48)
            cv.stroke(lays.band_dec, np.concatenate([ring, ring[:1]]), 0.0035)
        tm = th + step / 2
        cm, sm = math.cos(tm), math.sin(tm)
        if cm > 0.25:
            for dy in (-0.22, 0.22):
                small = _Slot(_R * sm, -hb / 2 + dy * hb + e * _R * cm, 0.28 * big_r, sx=cm)
                small.tilt = sm * 0.8
                slots.pair(5.5, small)
            line = np.array(
                [[_R * sm, -hb * 0.78 + e * _R * cm], [_R * sm, -hb * 0.22 + e * _R * cm]]
            )
            cv.stroke(lays.band_dec, line, 0.003)
    n_pave = 27
    for j in range(n_pave // 2 + 1):
        th = j * math.pi * 0.82 / (n_pave - 1)
        ct, st = math.cos(th), math.sin(th)
        for row, yb in enumerate((-hb, -0.005)):
            slot = _Slot(_R * st, yb + e * _R * ct, 0.0075, sx=ct, tilt=st * 0.8, collet=False)
            slot.bead = shape.style == "coronet" and row == 0
            slots.pair(9 + row + th * 0.01, slot)


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
