"""Procedural crown and tiara artwork: overlays for AR try-on and catalog pictures."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import pytest
from PIL import Image

from app.demo import artwork
from app.demo.artwork import PieceDesign, png_bytes, render_catalog_image, render_overlay

ALL_STYLES = [(kind, style) for kind, styles in artwork.STYLES.items() for style in styles]
WIDTH = 200


def design(kind: str = "crown", style: str = "fleur", **kw: object) -> PieceDesign:
    """A valid design with overridable fields."""
    fields: dict = {
        "kind": kind,
        "metal": "yellow-gold",
        "style": style,
        "stone_colour": "ruby",
        "stone_count": 12,
        "width_mm": 160.0 if kind == "crown" else 134.0,
        "seed": 0,
    }
    fields.update(kw)
    return PieceDesign(**fields)


@cache
def overlay(d: PieceDesign, width_px: int = WIDTH) -> tuple[Image.Image, dict]:
    """Rendered once per design (designs are frozen, so hashable)."""
    return render_overlay(d, width_px=width_px)


def alpha_of(image: Image.Image) -> np.ndarray:
    """The alpha channel as an int array."""
    return np.asarray(image)[..., 3].astype(int)


def test_same_design_gives_identical_bytes() -> None:
    d = design("tiara", "wave", seed=7, stone_colour="sapphire")
    first = png_bytes(render_overlay(d, width_px=160)[0])
    second = png_bytes(render_overlay(d, width_px=160)[0])
    assert first == second
    assert png_bytes(render_catalog_image(d, size=128)) == png_bytes(
        render_catalog_image(d, size=128)
    )


def test_png_bytes_is_a_decodable_png() -> None:
    image, _ = overlay(design())
    data = png_bytes(image)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    back = Image.open(io.BytesIO(data))
    assert back.mode == "RGBA" and back.size == image.size
    assert np.array_equal(np.asarray(back), np.asarray(image))


@pytest.mark.parametrize(("kind", "style"), ALL_STYLES)
def test_overlay_is_transparent_around_an_opaque_piece(kind: str, style: str) -> None:
    image, spec = overlay(design(kind, style))
    assert image.mode == "RGBA"
    assert image.width == WIDTH
    a = alpha_of(image)
    # Nothing touches the edges: corners, outer rows and columns are fully transparent.
    assert a[0].max() == 0 and a[-1].max() == 0
    assert a[:, 0].max() == 0 and a[:, -1].max() == 0
    # Cropped to the piece: only a small margin above and below it.
    rows = np.flatnonzero(a.max(axis=1) > 0)
    assert rows[0] <= 8 and a.shape[0] - 1 - rows[-1] <= 8
    # Solid metal, soft edges: plenty of fully opaque pixels and some partial ones.
    assert (a == 255).mean() > 0.08
    assert ((a > 0) & (a < 255)).sum() > 50
    # The band itself is solid along its whole length, near the base line.
    (lx, ly), (rx, _) = spec["band_left"], spec["band_right"]
    bw = rx - lx
    near = a[max(int(ly - 0.06 * bw), 0) : int(ly + 0.06 * bw) + 1]
    cols = np.arange(int(lx + 0.06 * bw), int(rx - 0.06 * bw))
    assert (near[:, cols] == 255).any(axis=0).all()
    if kind == "crown":  # a crown's band is seen front-on: a solid strip just above the base
        row = a[int(round(ly - 0.03 * bw)), cols]
        assert (row == 255).mean() > 0.9


@pytest.mark.parametrize(("kind", "style"), ALL_STYLES)
def test_spec_marks_the_base_line_of_the_band(kind: str, style: str) -> None:
    d = design(kind, style, width_mm=151.5)
    image, spec = overlay(d)
    assert set(spec) == {"kind", "width_mm", "band_left", "band_right"}
    assert spec["kind"] == kind
    assert spec["width_mm"] == 151.5 and isinstance(spec["width_mm"], float)
    for key in ("band_left", "band_right"):
        point = spec[key]
        assert isinstance(point, list) and len(point) == 2
        assert all(isinstance(v, float) for v in point)
        assert 0 <= point[0] < image.width and 0 <= point[1] < image.height
    (lx, ly), (rx, ry) = spec["band_left"], spec["band_right"]
    assert lx < rx
    assert ly == pytest.approx(ry, abs=0.5)  # front view: the base line is level
    assert rx - lx == pytest.approx(image.width - 1 - lx - lx, abs=1.0)  # and centred
    bw = rx - lx
    assert 0.8 < bw / image.width < 0.98
    a = alpha_of(image)
    ys, xs = np.nonzero(a)
    # The band ends are the piece's outermost points, and its base is the bottom of the piece.
    assert abs(xs.min() - lx) < 0.04 * bw and abs(xs.max() - rx) < 0.04 * bw
    assert 0 <= ys.max() - ly < 0.07 * bw
    assert ly > 0.75 * image.height
    # Metal sits right on the band's ends.
    for x in (lx, rx):
        window = a[int(ly - 0.04 * bw) : int(ly) + 2, int(x - 0.02 * bw) : int(x + 0.02 * bw) + 1]
        assert window.max() == 255


def test_spec_scales_with_width() -> None:
    d = design("crown", "spire")
    _, small = render_overlay(d, width_px=150)
    big_image, big = render_overlay(d, width_px=300)
    assert big_image.width == 300
    ratio = (big["band_right"][0] - big["band_left"][0]) / (
        small["band_right"][0] - small["band_left"][0]
    )
    assert ratio == pytest.approx(2.0, rel=0.02)


def test_crowns_are_taller_than_tiaras() -> None:
    crown, _ = overlay(design("crown", "arch"))
    tiara, _ = overlay(design("tiara", "halo"))
    assert crown.height > 1.5 * tiara.height
    assert crown.height > 0.6 * crown.width
    assert tiara.height < 0.6 * tiara.width


def test_tiara_rises_to_a_peak_at_the_centre() -> None:
    image, spec = overlay(design("tiara", "sunburst"))
    a = alpha_of(image)
    lx, rx = spec["band_left"][0], spec["band_right"][0]

    def top(x: float) -> int:
        return int(np.flatnonzero(a[:, int(x)] > 128)[0])

    centre = (lx + rx) / 2
    assert top(centre) < top(lx + 0.25 * (rx - lx)) < top(lx + 0.05 * (rx - lx))


def mean_metal(metal: str) -> np.ndarray:
    """Mean colour of the opaque pixels of a stone-free piece in a metal."""
    d = design("crown", "coronet", metal=metal, stone_colour="none", stone_count=0)
    px = np.asarray(overlay(d)[0]).reshape(-1, 4).astype(float)
    return px[px[:, 3] == 255, :3].mean(axis=0)


def test_metals_have_their_own_colours() -> None:
    yellow, rose = mean_metal("yellow-gold"), mean_metal("rose-gold")
    silver, platinum, white = mean_metal("silver"), mean_metal("platinum"), mean_metal("white-gold")
    assert yellow[0] - yellow[2] > 60  # gold: warm
    assert rose[0] - rose[2] > 40 and rose[0] > rose[1] > rose[2]
    assert yellow[1] / yellow[0] > rose[1] / rose[0] + 0.08  # yellow gold is less pink
    for grey in (silver, platinum):
        assert np.ptp(grey) < 15  # near-neutral
    assert np.ptp(white) < 25
    assert white[0] >= white[2]  # white gold keeps a touch of warmth
    assert platinum.mean() < silver.mean()  # platinum is the darker grey


def colour_fraction(image: Image.Image, channel: int) -> float:
    """Share of opaque pixels where one channel clearly dominates the others."""
    px = np.asarray(image).reshape(-1, 4).astype(int)
    px = px[px[:, 3] > 200]
    others = [c for c in range(3) if c != channel]
    strong = (px[:, channel] > px[:, others[0]] + 50) & (px[:, channel] > px[:, others[1]] + 50)
    return float(strong.mean())


@pytest.mark.parametrize(("stone", "channel"), [("ruby", 0), ("emerald", 1), ("sapphire", 2)])
def test_stones_show_in_their_colour(stone: str, channel: int) -> None:
    bare, _ = overlay(design("tiara", "halo", metal="silver", stone_colour=stone, stone_count=0))
    set_, _ = overlay(design("tiara", "halo", metal="silver", stone_colour=stone, stone_count=20))
    assert colour_fraction(bare, channel) < 0.002
    assert colour_fraction(set_, channel) > 0.02


@pytest.mark.parametrize(("kind", "style"), ALL_STYLES)
def test_every_stone_count_is_laid_out_symmetrically(kind: str, style: str) -> None:
    for seed in (0, 3):
        plan = artwork._slot_plan(design(kind, style, seed=seed))
        for count in range(artwork.MAX_STONES + 1):
            slots, _ = plan.choose(count)
            assert len(slots) == count
            xs = sorted(round(s.x, 6) for s in slots)
            assert xs == sorted(-x for x in xs)  # mirror-symmetric about the centre line
            assert len({(round(s.x, 6), round(s.y, 6)) for s in slots}) == count  # no overlaps
    assert len(artwork._stone_slots(design(kind, style, stone_count=37))) == 37


def test_different_designs_look_different() -> None:
    base = design("crown", "fleur")
    variants = [
        base,
        design("crown", "spire"),
        design("crown", "fleur", seed=1),
        design("crown", "fleur", metal="platinum"),
        design("crown", "fleur", stone_colour="emerald"),
        design("crown", "fleur", stone_count=30),
    ]
    images = [np.asarray(overlay(d)[0]).astype(int) for d in variants]
    for other in images[1:]:
        if other.shape == images[0].shape:  # same size: many pixels must change clearly
            changed = (np.abs(other - images[0]).max(axis=2) > 40).mean()
            assert changed > 0.005
    assert len({png_bytes(overlay(d)[0]) for d in variants}) == len(variants)
    tiaras = {png_bytes(overlay(design("tiara", s))[0]) for s in artwork.STYLES["tiara"]}
    assert len(tiaras) == 4


@pytest.mark.parametrize("kind", ["crown", "tiara"])
def test_catalog_image_is_a_studio_picture(kind: str) -> None:
    d = design(kind, "arch" if kind == "crown" else "laurel", metal="rose-gold")
    image = render_catalog_image(d, size=160)
    assert image.mode == "RGB" and image.size == (160, 160)
    px = np.asarray(image).astype(float)
    # A backdrop, not a flat fill, with the piece in the middle standing out from it.
    corners = np.concatenate([px[:12, :12], px[:12, -12:]]).reshape(-1, 3)
    assert corners.std(axis=0).max() < 12
    middle = px[40:120, 30:130].reshape(-1, 3)
    assert np.abs(middle - corners.mean(axis=0)).max(axis=1).mean() > 20
    assert middle.std(axis=0).max() > 25


def test_catalog_image_size_is_respected() -> None:
    assert render_catalog_image(design("tiara", "halo"), size=120).size == (120, 120)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "hat"}, r"unknown kind 'hat'; expected one of crown, tiara"),
        ({"metal": "bronze"}, r"unknown metal 'bronze'.*yellow-gold"),
        ({"style": "halo"}, r"unknown crown style 'halo'; expected one of fleur, spire"),
        ({"stone_colour": "opal"}, r"unknown stone colour 'opal'.*diamond"),
        ({"stone_count": 61}, r"stone_count must be 0\.\.60, got 61"),
        ({"stone_count": -1}, r"stone_count must be 0\.\.60, got -1"),
        ({"stone_count": 2.5}, r"stone_count must be an int"),
        ({"width_mm": 0}, r"width_mm must be"),
        ({"seed": "x"}, r"seed must be an int"),
    ],
)
def test_invalid_designs_are_refused(change: dict, message: str) -> None:
    fields = {**design("crown", "fleur").__dict__, **change}
    with pytest.raises(ValueError, match=message):
        PieceDesign(**fields)


def test_tiara_styles_are_not_crown_styles() -> None:
    with pytest.raises(
        ValueError, match=r"unknown tiara style 'arch'.*halo, laurel, wave, sunburst"
    ):
        design("tiara", "arch")


@pytest.mark.parametrize("bad", [10, 5000, 200.0])
def test_invalid_sizes_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="width_px"):
        render_overlay(design(), width_px=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="size"):
        render_catalog_image(design(), size=bad)  # type: ignore[arg-type]


def test_metals_table_covers_every_metal_with_a_ramp() -> None:
    assert set(artwork.METALS) == {"yellow-gold", "rose-gold", "white-gold", "silver", "platinum"}
    for stops in artwork.METALS.values():
        positions = [p for p, _ in stops]
        assert positions[0] == 0.0 and positions[-1] == 1.0 and positions == sorted(positions)
        lightness = [sum(rgb) for _, rgb in stops]
        assert lightness == sorted(lightness)  # dark reflections up to the highlight
