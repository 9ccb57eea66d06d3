"""catalog.overlays: which uploads can be try-on overlays, and which calibrations fit them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.accounts.models import Role
from app.catalog import overlays
from app.catalog import services as catalog
from app.catalog.models import Overlay
from app.common import caching
from app.common.transactions import atomic
from app.extensions import db
from app.tryon import services as tryon
from tests.conftest import POSTGRES_URL
from tests.factories import make_product
from tests.helpers import race
from tests.staff.builders import make_fast_user
from tests.tryon.helpers import MAGENTA, add_overlay, overlay_png, real_overlay

# tests.tryon.helpers.overlay_png: 600 x 300, the band a bar from x 20 to 580, y 240 to 290.
GOOD = {"band_left": (20.0, 285.0), "band_right": (580.0, 285.0), "width_mm": 160.0}


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def crown_png(size: tuple[int, int] = (600, 300)) -> bytes:
    """A bar along the bottom of a transparent picture of any size."""
    width, height = size
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle(
        [width // 30, height * 4 // 5, width - width // 30, height - 3], fill=(200, 160, 40, 255)
    )
    return png(image)


def opaque_png() -> bytes:
    """The crown drawn on white: an alpha channel, but nothing see-through."""
    image = Image.open(io.BytesIO(overlay_png(MAGENTA)))
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return png(Image.alpha_composite(white, image))


def rgb_png() -> bytes:
    """No alpha channel at all."""
    return png(Image.open(io.BytesIO(opaque_png())).convert("RGB"))


def jpeg_named_png() -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(opaque_png())).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def empty_png(size: tuple[int, int] = (600, 300)) -> bytes:
    return png(Image.new("RGBA", size, (0, 0, 0, 0)))


@pytest.fixture
def crown(app_ctx):
    """A crown offered in gold and silver, no overlay yet, and a staff member."""
    product = make_product("ovl-crown", metals=("yellow-gold", "silver"))
    staff_id = make_fast_user(email="mira@example.org", name="Mira", role=Role.STAFF)
    return product.id, staff_id


def upload(product_id: int, staff_id: int, data: bytes, metal: str = "yellow-gold") -> Overlay:
    with atomic():
        overlay = overlays.upload_overlay(
            product_id=product_id, metal_code=metal, data=data, by_user_id=staff_id
        )
    return overlay


def calibrate(product_id: int, staff_id: int, metal: str = "yellow-gold", **changes) -> Overlay:
    values = {**GOOD, **changes}
    version = changes.pop("version", None) or overlay_row(product_id, metal).path
    with atomic():
        return overlays.calibrate_overlay(
            product_id=product_id,
            metal_code=metal,
            band_left=values["band_left"],
            band_right=values["band_right"],
            width_mm=values["width_mm"],
            version=version,
            by_user_id=staff_id,
        )


def overlay_row(product_id: int, metal: str = "yellow-gold") -> Overlay:
    db.session.expire_all()
    return next(o for o in catalog_product(product_id).overlays if o.metal.code == metal)


def catalog_product(product_id: int):
    from app.catalog.models import Product

    return db.session.get(Product, product_id)


def media_file(app, key: str) -> Path:
    return Path(app.config["MEDIA_ROOT"]) / "products" / key


# --- uploading ------------------------------------------------------------------------------


def test_an_upload_is_stored_beside_the_artwork_and_waits_for_calibration(app_ctx, crown):
    product_id, staff_id = crown
    before = caching.generation()
    overlay = upload(product_id, staff_id, overlay_png(MAGENTA))
    row = overlay_row(product_id)
    assert row.id == overlay.id
    assert row.calibrated_at is None and row.calibrated_by_id is None
    assert row.path.startswith("ovl-crown/overlay-yellow-gold-") and row.path.endswith(".png")
    with Image.open(media_file(app_ctx, row.path)) as stored:
        assert stored.format == "PNG" and stored.mode == "RGBA" and stored.size == (600, 300)
    # A starting band for staff to drag: the bar's lowest full-width row, end to end.
    spec = row.spec
    assert spec["kind"] == "crown" and spec["width_mm"] == 160.0
    assert spec["band_left"][0] == pytest.approx(20, abs=2)
    assert spec["band_right"][0] == pytest.approx(580, abs=2)
    assert 240 <= spec["band_left"][1] <= 290
    assert caching.generation() != before  # guests' cached pages learn of it
    # Not offered to buyers until calibrated.
    assert catalog.get_product("ovl-crown").has_tryon is False


def test_a_replacement_is_uncalibrated_again_and_the_old_file_goes_after_commit(app_ctx, crown):
    product_id, staff_id = crown
    upload(product_id, staff_id, overlay_png(MAGENTA))
    calibrate(product_id, staff_id)
    first = overlay_row(product_id)
    assert first.calibrated_at is not None
    old_key = first.path

    upload(product_id, staff_id, crown_png((900, 400)))
    second = overlay_row(product_id)
    assert second.id == first.id  # one overlay per product and metal
    assert second.path != old_key
    assert second.calibrated_at is None and second.calibrated_by_id is None
    assert media_file(app_ctx, second.path).is_file()
    assert not media_file(app_ctx, old_key).exists()
    assert catalog.get_product("ovl-crown").has_tryon is False


def test_a_replacement_that_rolls_back_keeps_the_old_picture(app_ctx, crown):
    product_id, staff_id = crown
    upload(product_id, staff_id, overlay_png(MAGENTA))
    calibrate(product_id, staff_id)
    before = overlay_row(product_id)
    old_key, old_spec = before.path, dict(before.spec)
    folder = media_file(app_ctx, old_key).parent
    with pytest.raises(RuntimeError), atomic():
        overlays.upload_overlay(
            product_id=product_id, metal_code="yellow-gold", data=crown_png(), by_user_id=staff_id
        )
        raise RuntimeError("the request failed after the upload")
    after = overlay_row(product_id)
    assert after.path == old_key and after.spec == old_spec and after.calibrated_at is not None
    assert sorted(p.name for p in folder.iterdir()) == [Path(old_key).name]


def test_replacing_the_demos_own_overlay(app, crown):
    """Overlays made in code (the demo) keep their key scheme; a replacement takes their place."""
    product_id, staff_id = crown
    add_overlay(app, "ovl-crown", "silver", MAGENTA)
    demo_key = "ovl-crown/overlay-silver.png"
    assert overlay_row(product_id, "silver").calibrated_at is not None  # made in code
    upload(product_id, staff_id, crown_png(), metal="silver")
    assert overlay_row(product_id, "silver").path.startswith("ovl-crown/overlay-silver-")
    assert not media_file(app, demo_key).exists()


def test_the_width_starts_from_the_same_piece_in_another_metal(app_ctx, crown):
    product_id, staff_id = crown
    upload(product_id, staff_id, overlay_png(MAGENTA))
    calibrate(product_id, staff_id, width_mm=172.5)
    upload(product_id, staff_id, overlay_png(MAGENTA), metal="silver")
    assert overlay_row(product_id, "silver").spec["width_mm"] == 172.5


def test_a_palette_png_with_a_transparent_colour_is_an_overlay(app_ctx, crown):
    product_id, staff_id = crown
    image = Image.open(io.BytesIO(overlay_png(MAGENTA))).convert("RGBA")
    palette = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    # Make the colour of the (black, see-through) corner transparent.
    palette.info["transparency"] = palette.getpixel((0, 0))
    upload(product_id, staff_id, png(palette))
    with Image.open(media_file(app_ctx, overlay_row(product_id).path)) as stored:
        alpha = np.asarray(stored)[:, :, 3]
    assert alpha[0, 0] == 0 and alpha[270, 300] == 255


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: b"", "No file arrived"),
        (lambda: b"not a picture at all" * 10, "not an image"),
        (jpeg_named_png, "is a JPEG photo, not a PNG"),
        (rgb_png, "no alpha channel"),
        (opaque_png, "background was not removed"),
        (empty_png, "no piece to see"),
        (lambda: crown_png((150, 300)), "too small"),
        (lambda: crown_png((600, 40)), "too small"),
        (lambda: crown_png((3200, 300)), "at most 3000 pixels a side"),
        (lambda: crown_png((2900, 1500)), "4 megapixels"),
        (lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * overlays.MAX_OVERLAY_BYTES, "over 8 MB"),
    ],
    ids=[
        "empty",
        "not-an-image",
        "jpeg-disguised",
        "no-alpha",
        "opaque",
        "transparent-everywhere",
        "too-narrow",
        "too-short",
        "too-wide",
        "too-many-pixels",
        "too-many-bytes",
    ],
)
def test_uploads_that_cannot_be_overlays_are_refused(app_ctx, crown, data, message):
    product_id, staff_id = crown
    with pytest.raises(overlays.OverlayRejected, match=message):
        upload(product_id, staff_id, data())
    assert catalog_product(product_id).overlays == []
    assert not (Path(app_ctx.config["MEDIA_ROOT"]) / "products" / "ovl-crown").exists()


def test_only_offered_metals_take_an_upload(app_ctx, crown):
    product_id, staff_id = crown
    with pytest.raises(overlays.MetalNotOffered):
        upload(product_id, staff_id, overlay_png(MAGENTA), metal="platinum")
    with pytest.raises(overlays.ProductNotFound):
        upload(product_id + 999, staff_id, overlay_png(MAGENTA))


def test_the_suggested_band_of_the_catalogs_own_drawing_is_close(app_ctx):
    data, spec = real_overlay()
    alpha = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))[:, :, 3]
    left, right = overlays.suggest_band(alpha)
    assert left[0] == pytest.approx(spec["band_left"][0], abs=10)
    assert right[0] == pytest.approx(spec["band_right"][0], abs=10)
    assert left[1] == pytest.approx(spec["band_left"][1], abs=10)
    assert right[1] == left[1]


# --- calibrating ----------------------------------------------------------------------------


def test_a_calibration_is_saved_with_who_and_when_and_offers_the_try_on(app_ctx, crown):
    product_id, staff_id = crown
    upload(product_id, staff_id, overlay_png(MAGENTA))
    before = caching.generation()
    calibrate(product_id, staff_id, band_left=(21, 284.5), width_mm=158)
    row = overlay_row(product_id)
    assert row.spec == {
        "kind": "crown",
        "width_mm": 158.0,
        "band_left": [21.0, 284.5],
        "band_right": [580.0, 285.0],
    }
    assert row.calibrated_at is not None and row.calibrated_by_id == staff_id
    assert caching.generation() != before
    assert catalog.get_product("ovl-crown").has_tryon is True
    piece = tryon.get_piece(slug="ovl-crown")
    assert piece.spec.width_mm == 158.0 and piece.overlay_path == row.path


def test_the_kind_comes_from_the_product(app_ctx):
    product = make_product("ovl-tiara", kind="tiara")
    staff_id = make_fast_user(email="mira@example.org", name="Mira", role=Role.STAFF)
    upload(product.id, staff_id, overlay_png(MAGENTA))
    calibrate(product.id, staff_id)
    assert overlay_row(product.id).spec["kind"] == "tiara"


def test_the_catalogs_own_drawings_pass_the_checks(app_ctx):
    """Every band the demo draws lies on its piece: the checks accept real artwork."""
    data, spec = real_overlay()
    alpha = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))[:, :, 3]
    checked = overlays.check_calibration(
        alpha=alpha,
        kind="crown",
        band_left=tuple(spec["band_left"]),
        band_right=tuple(spec["band_right"]),
        width_mm=spec["width_mm"],
    )
    assert checked.to_dict()["band_left"] == spec["band_left"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"band_left": (-1.0, 285.0)}, "band_left", "left end .* outside the 600×300 picture"),
        ({"band_right": (600.0, 285.0)}, "band_right", "right end .* outside"),
        ({"band_right": (580.0, 300.0)}, "band_right", "right end .* outside"),
        ({"band_left": (580.0, 285.0), "band_right": (20.0, 285.0)}, "band_left", "swapped"),
        ({"band_left": (300.0, 285.0), "band_right": (300.0, 285.0)}, "band_left", "swapped"),
        # Across the see-through top of the picture, above the points.
        ({"band_left": (20.0, 20.0), "band_right": (580.0, 20.0)}, "band_left", "see-through"),
        # From the band's left end up to the empty top right corner.
        ({"band_right": (580.0, 100.0)}, "band_right", "slopes"),
        ({"band_right": (200.0, 285.0)}, "band_right", "put the handles on the two ends"),
        ({"width_mm": 79.9}, "width_mm", "cannot be right"),
        ({"width_mm": 220.5}, "width_mm", "cannot be right"),
        ({"width_mm": float("nan")}, "width_mm", "millimetres"),
    ],
    ids=[
        "left-outside",
        "right-outside-x",
        "right-outside-y",
        "reversed",
        "one-point",
        "across-transparency",
        "steep",
        "too-short",
        "too-narrow-mm",
        "too-wide-mm",
        "nan-mm",
    ],
)
def test_calibrations_that_cannot_be_right_are_refused(app_ctx, crown, changes, field, message):
    product_id, staff_id = crown
    upload(product_id, staff_id, overlay_png(MAGENTA))
    with pytest.raises(overlays.CalibrationRejected, match=message) as refused:
        calibrate(product_id, staff_id, **changes)
    assert refused.value.field == field
    row = overlay_row(product_id)
    assert row.calibrated_at is None


def test_a_band_partly_over_transparency_is_refused_but_a_near_miss_is_not(app_ctx, crown):
    product_id, staff_id = crown
    upload(product_id, staff_id, overlay_png(MAGENTA))
    # 3 px below the bar's bottom edge (y 290) still counts: hands are not exact.
    calibrate(product_id, staff_id, band_left=(20, 292), band_right=(580, 292))
    # Halfway up the points: more empty picture between them than points.
    with pytest.raises(overlays.CalibrationRejected, match="see-through"):
        calibrate(product_id, staff_id, band_left=(20, 150), band_right=(580, 150))


def test_a_calibration_for_a_replaced_picture_is_refused(app_ctx, crown):
    product_id, staff_id = crown
    upload(product_id, staff_id, overlay_png(MAGENTA))
    seen = overlay_row(product_id).path
    upload(product_id, staff_id, overlay_png(MAGENTA))
    with pytest.raises(overlays.OverlayReplaced, match="replaced"):
        calibrate(product_id, staff_id, version=seen)
    assert overlay_row(product_id).calibrated_at is None


def test_nothing_to_calibrate(app_ctx, crown):
    product_id, staff_id = crown
    with pytest.raises(overlays.OverlayNotFound):
        calibrate(product_id, staff_id, version="ovl-crown/none.png")


def test_the_proposed_calibration_is_checked_but_not_saved(app_ctx, crown):
    product_id, staff_id = crown
    upload(product_id, staff_id, overlay_png(MAGENTA))
    proposed = overlays.proposed_calibration(
        product_id=product_id, metal_code="yellow-gold", **{**GOOD, "width_mm": 150}
    )
    assert proposed.spec.width_mm == 150.0
    db.session.rollback()
    assert overlay_row(product_id).calibrated_at is None
    with pytest.raises(overlays.CalibrationRejected):
        overlays.proposed_calibration(
            product_id=product_id, metal_code="yellow-gold", **{**GOOD, "width_mm": 30}
        )


# --- buyers never see an uncalibrated overlay -------------------------------------------------


def test_the_try_on_offers_only_calibrated_overlays(app, crown):
    product_id, staff_id = crown
    add_overlay(app, "ovl-crown", "silver", MAGENTA)  # made in code: calibrated
    upload(product_id, staff_id, overlay_png(MAGENTA))  # gold: uploaded, not calibrated
    assert catalog.get_product("ovl-crown").has_tryon is True
    assert tryon.get_piece(slug="ovl-crown").metal_code == "silver"
    with pytest.raises(tryon.UnknownMetal):
        tryon.get_piece(slug="ovl-crown", metal_code="yellow-gold")
    [choice] = [c for c in tryon.tryon_catalogue() if c.slug == "ovl-crown"]
    assert [m.code for m in choice.metals] == ["silver"]


def test_a_product_whose_only_overlay_is_uncalibrated_has_no_try_on(app_ctx, crown):
    product_id, staff_id = crown
    upload(product_id, staff_id, overlay_png(MAGENTA))
    assert catalog.get_product("ovl-crown").has_tryon is False
    with pytest.raises(tryon.PieceNotFound, match="no try-on picture"):
        tryon.get_piece(slug="ovl-crown")
    assert all(c.slug != "ovl-crown" for c in tryon.tryon_catalogue())


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs DIADEM_TEST_DATABASE_URL (PostgreSQL)")
def test_simultaneous_uploads_for_one_metal_replace_each_other_in_turn(app):
    """Four staff upload at once: each replaces the last, one overlay and one file remain."""
    with app.app_context():
        product_id = make_product("ovl-crown").id
        staff_id = make_fast_user(email="mira@example.org", name="Mira", role=Role.STAFF)
    workers = 4

    def work(i: int) -> int:
        with atomic():
            return overlays.upload_overlay(
                product_id=product_id,
                metal_code="yellow-gold",
                data=crown_png((600 + i * 10, 300)),
                by_user_id=staff_id,
            ).id

    results = race(workers, work, app=app, catch=Exception)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    with app.app_context():
        row = overlay_row(product_id)
        files = sorted(p.name for p in media_file(app, row.path).parent.iterdir())
    assert files == [Path(row.path).name]
