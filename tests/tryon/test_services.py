from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ar
from app.common.transactions import atomic
from app.tryon import engines, services
from app.tryon.models import TryonSnapshot
from tests.factories import make_product
from tests.helpers import make_user
from tests.tryon.helpers import (
    MAGENTA,
    SPEC,
    add_real_overlay,
    astronaut,
    astronaut_jpeg,
    coffee_jpeg,
    encode,
    overlay_png,
    png_header_only,
)

EIGHT_MB = 8 * 1024 * 1024


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "GIF")
    return buffer.getvalue()


def damaged_png() -> bytes:
    data = bytearray(encode(astronaut()[:128, :128], "PNG"))
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    return bytes(data)


PHOTO_CASES = [
    pytest.param(b"", services.EmptyPhoto, "No picture arrived", id="empty"),
    pytest.param(b"\xff" * (EIGHT_MB + 1), services.PhotoTooLarge, "over 8 MB", id="over-8mb"),
    pytest.param(b"Dear atelier, here is my head", services.NotAnImage, "not a picture", id="text"),
    pytest.param(b"%PDF-1.7\n%%EOF", services.NotAnImage, "not a picture", id="pdf"),
    pytest.param(gif_bytes(), services.NotAnImage, "GIF pictures are not accepted", id="gif"),
    pytest.param(
        png_header_only(8000, 5001), services.TooManyPixels, "over 40 megapixels", id="40mp"
    ),
    # Over twice the limit, Pillow itself refuses to open it (its decompression-bomb error).
    pytest.param(
        png_header_only(20000, 20000), services.TooManyPixels, "over 40 megapixels", id="400mp"
    ),
    pytest.param(
        encode(np.zeros((16, 16, 3), np.uint8), "PNG"), services.PhotoTooSmall, "16×16", id="tiny"
    ),
]


@pytest.mark.parametrize(("data", "error", "message"), PHOTO_CASES)
def test_check_image_refuses_before_decoding(monkeypatch, data, error, message):
    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded an image that should have been refused from its header")

    monkeypatch.setattr(ar, "decode_image", no_decoding)
    with pytest.raises(error, match=message):
        services.decode_checked(data)


def test_oversized_bytes_are_refused_without_opening_them(monkeypatch):
    monkeypatch.setattr(services.Image, "open", lambda *a: pytest.fail("opened"))
    with pytest.raises(services.PhotoTooLarge):
        services.check_image(astronaut_jpeg() + b"\0" * EIGHT_MB)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(astronaut_jpeg()[: len(astronaut_jpeg()) // 2], id="truncated-jpeg"),
        pytest.param(damaged_png(), id="png-with-damaged-data"),
        pytest.param(png_header_only(640, 480), id="png-without-pixels"),
    ],
)
def test_corrupt_images_are_reported_as_such(data):
    with pytest.raises(services.CorruptImage, match="damaged or incomplete"):
        services.decode_checked(data)


def test_live_frames_have_their_own_limits():
    frame = encode(np.full((500, 700, 3), 128, np.uint8))
    with pytest.raises(services.FrameTooWide, match="at most 640 pixels"):
        services.check_image(frame, max_bytes=services.MAX_FRAME_BYTES, max_side=640)
    with pytest.raises(services.FrameTooLarge, match="under 256 KB"):
        services.check_image(b"\0" * (300 * 1024), max_bytes=services.MAX_FRAME_BYTES, max_side=640)
    with pytest.raises(services.FrameTooWide, match="at most 640 pixels"):
        services.check_image(png_header_only(20000, 20000), max_side=640)


@pytest.mark.parametrize(
    ("rgb", "error", "message"),
    [
        (np.full((500, 700, 3), 128, np.uint8), services.FrameTooWide, "at most 640 pixels"),
        (np.full((16, 200, 3), 128, np.uint8), services.PhotoTooSmall, "only 200×16 pixels"),
    ],
)
def test_live_jpeg_frames_read_from_their_header_are_refused_the_same(rgb, error, message):
    frame = encode(rgb)
    with pytest.raises(error, match=message):
        services.check_frame(frame)
    with pytest.raises(error, match=message):
        services.check_image(frame, max_bytes=services.MAX_FRAME_BYTES, max_side=640)


def test_live_frames_that_are_not_plain_jpegs_get_the_full_check():
    with pytest.raises(services.FrameTooWide, match="at most 640 pixels"):
        services.check_frame(png_header_only(20000, 20000))
    with pytest.raises(services.NotAnImage):
        services.check_frame(b"GIF89a" + b"\0" * 100)
    with pytest.raises(services.EmptyPhoto):
        services.check_frame(b"")
    with pytest.raises(services.FrameTooLarge, match="under 256 KB"):
        services.check_frame(encode(astronaut()) + b"\0" * (300 * 1024))
    assert services.check_frame(encode(astronaut())) == (512, 512)


def test_get_piece_defaults_and_metals(tryon_app):
    with tryon_app.app_context():
        piece = services.get_piece(slug="test-crown")
        assert (piece.metal_code, piece.overlay_path) == (
            "yellow-gold",
            "test-crown/overlay-yellow-gold.png",
        )
        assert piece.spec == ar.PieceSpec.from_dict(SPEC)
        assert services.get_piece(slug="test-crown", metal_code="silver").metal_code == "silver"
        with pytest.raises(services.UnknownMetal, match="18k yellow gold, sterling silver"):
            services.get_piece(slug="test-crown", metal_code="platinum")
        with pytest.raises(services.PieceNotFound, match="No piece called 'nope'"):
            services.get_piece(slug="nope")
        with pytest.raises(services.PieceNotFound, match="Bare Crown has no try-on picture yet"):
            services.get_piece(slug="bare-crown")
        catalogue = services.tryon_catalogue()
        assert [(c.slug, [m.code for m in c.metals]) for c in catalogue] == [
            ("other-crown", ["silver"]),
            ("test-crown", ["yellow-gold", "silver"]),
        ]


def test_engine_is_built_once_per_process(monkeypatch):
    built = []
    real = ar.create_engine

    def counting(*args, **kwargs):
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(engines, "_photo_engine", engines._ProcessEngine(4))
    monkeypatch.setattr(ar, "create_engine", counting)
    got = []
    threads = [threading.Thread(target=lambda: got.append(services.get_engine())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got.append(services.get_engine())
    assert len(built) == 1
    assert all(engine is got[0] for engine in got)
    assert got[0].mode == "still"
    got[0].close()


def test_locate_piece_places_the_band_above_the_eyes(tryon_app):
    with tryon_app.app_context():
        result = services.locate_piece(
            frame=astronaut_jpeg(320), slug="test-crown", metal_code=None
        )
    document = result.to_json()
    assert document["frame"] == {"width": 320, "height": 320}
    assert document["piece"] == {"product": "test-crown", "metal": "yellow-gold"}
    (face,) = document["faces"]
    landmarks = result.faces[0].landmarks
    eyes_y = (landmarks[33, 1] + landmarks[263, 1]) / 2
    assert face["band_left"][1] < eyes_y and face["band_right"][1] < eyes_y
    assert face["band_left"][0] < face["band_right"][0]
    assert face["up"][1] < 0  # the piece's top points up the image
    assert document["size_advice"]["size"] in {"S", "M", "L"}
    assert document["size_advice"]["confidence"] in {"low", "medium", "high"}


def test_locate_piece_without_a_face_is_not_an_error(tryon_app):
    with tryon_app.app_context():
        result = services.locate_piece(frame=coffee_jpeg(320), slug="test-crown", metal_code=None)
    assert result.to_json()["faces"] == []
    assert result.advice is None


def test_pose_json_has_the_command_lines_shape_and_values(tryon_app, tmp_path: Path):
    frame = tmp_path / "frame.jpg"
    frame.write_bytes(astronaut_jpeg(320))
    (tmp_path / "piece.png").write_bytes(overlay_png(MAGENTA))
    (tmp_path / "piece.json").write_text(json.dumps(SPEC))
    cli = subprocess.run(
        [sys.executable, "-m", "ar", "tryon", str(frame), "--overlay", str(tmp_path / "piece.png"),
         "--spec", str(tmp_path / "piece.json"), "--out", str(tmp_path / "out.png"), "--json"],
        capture_output=True, text=True, check=True, cwd=Path(ar.__file__).parents[1],
    )  # fmt: skip
    expected = json.loads(cli.stdout)
    with tryon_app.app_context():
        document = services.locate_piece(
            frame=frame.read_bytes(), slug="test-crown", metal_code=None
        ).to_json()
    assert len(document["faces"]) == len(expected["faces"]) == 1
    ours, theirs = document["faces"][0], expected["faces"][0]
    assert set(theirs) <= set(ours)
    assert {k: ours[k] for k in theirs} == theirs


def test_try_on_photo_composites_at_full_size(tryon_app):
    with tryon_app.app_context():
        result = services.try_on_photo(photo=astronaut_jpeg(), slug="test-crown", metal_code=None)
    image = np.asarray(Image.open(io.BytesIO(result.jpeg)))
    assert image.shape == astronaut().shape
    x, y, w, h = result.faces[0].bbox
    piece = (np.abs(image.astype(int) - MAGENTA) < 60).all(axis=2)
    assert piece[:y, x : x + w].sum() > 500
    assert piece[y + h // 2 :, :].sum() == 0
    assert result.download_name == "diadem-test-crown-yellow-gold.jpg"
    assert result.data_url.startswith("data:image/jpeg;base64,")


def test_the_catalogs_own_artwork_sits_on_the_head(tryon_app):
    with tryon_app.app_context():
        make_product("drawn-crown")
    spec = add_real_overlay(tryon_app, "drawn-crown")
    with tryon_app.app_context():
        result = services.try_on_photo(photo=astronaut_jpeg(), slug="drawn-crown", metal_code=None)
        piece = services.get_piece(slug="drawn-crown")
    assert piece.spec == ar.PieceSpec.from_dict(spec)
    image = np.asarray(Image.open(io.BytesIO(result.jpeg))).astype(int)
    original = np.asarray(Image.open(io.BytesIO(astronaut_jpeg()))).astype(int)
    changed = np.abs(image - original).max(axis=2) > 60
    x, y, w, h = result.faces[0].bbox
    assert changed[:y, x : x + w].sum() > 1000, "the crown shows above the face"
    assert changed[y + h // 3 :, :].sum() == 0, "and nowhere from the eyes down"


def test_try_on_photo_without_a_face(tryon_app):
    with (
        tryon_app.app_context(),
        pytest.raises(services.NoFaceFound, match="could not find a face"),
    ):
        services.try_on_photo(photo=coffee_jpeg(), slug="test-crown", metal_code=None)


def test_missing_artwork_file_is_a_missing_piece(tryon_app):
    (Path(tryon_app.config["MEDIA_ROOT"]) / "products/test-crown/overlay-silver.png").unlink()
    with tryon_app.app_context(), pytest.raises(services.PieceNotFound, match="cannot be tried on"):
        services.try_on_photo(photo=astronaut_jpeg(), slug="test-crown", metal_code="silver")


def test_advice_uses_the_catalogs_sizes(tryon_app):
    with tryon_app.app_context():
        engine = services.get_engine()
        faces = engine.measure(astronaut())
        advice = services.advise(faces)
        assert services.advise([]) is None
    expected = ar.advise_size(
        faces[0],
        [ar.SizeBand("S", 520, 545), ar.SizeBand("M", 545, 570), ar.SizeBand("L", 570, 600)],
    )
    assert advice.size_code == expected.label
    assert advice.confidence == expected.confidence
    # The range is read, not just the point: a camera's range spans sizes, and says so.
    low, high = faces[0].head_circumference_range_mm
    assert advice.range_mm == (round(low), round(high))
    assert advice.sizes == expected.sizes and len(advice.sizes) >= 2
    assert advice.summary == expected.summary
    assert advice.summary.startswith("between ") and advice.summary.endswith("measure to be sure")
    assert advice.to_json()["head_circumference_range_mm"] == [round(low), round(high)]
    assert advice.size_label in {"Petite", "Standard", "Generous"}
    assert advice.circumference_mm == round(faces[0].head_circumference_mm)


def test_snapshots_are_kept_for_their_owner_only(tryon_app):
    owner = make_user(tryon_app, email="owner@example.com")
    other = make_user(tryon_app, email="other@example.com")
    with tryon_app.app_context():
        saved = services.save_snapshot(
            user_id=owner, photo=astronaut_jpeg(), slug="test-crown", metal_code="silver"
        )
        snapshot_id = saved.snapshot.id
        path = Path(tryon_app.config["UPLOADS_ROOT"]) / saved.snapshot.image_name
        assert path.read_bytes() == saved.result.jpeg
        assert saved.snapshot.recommended_size == saved.result.advice.size_code
        assert saved.snapshot.head_circumference_mm == saved.result.advice.circumference_mm
        low, high = saved.result.advice.range_mm
        assert (
            saved.snapshot.head_circumference_low_mm,
            saved.snapshot.head_circumference_high_mm,
        ) == (
            low,
            high,
        )
        assert saved.snapshot.head_circumference_range_cm == f"{low / 10:.1f}–{high / 10:.1f}"
        assert [s.id for s in services.list_snapshots(user_id=owner)] == [snapshot_id]
        assert services.list_snapshots(user_id=other) == []
        with pytest.raises(services.SnapshotNotFound):
            services.get_snapshot(snapshot_id=snapshot_id, user_id=other)
        with pytest.raises(services.SnapshotNotFound):
            services.delete_snapshot(snapshot_id=snapshot_id, user_id=other)
        with atomic():
            services.delete_snapshot(snapshot_id=snapshot_id, user_id=owner)
        assert services.db.session.get(TryonSnapshot, snapshot_id) is None
    assert not path.exists()


def test_a_refused_photo_stores_nothing(tryon_app):
    user = make_user(tryon_app)
    with tryon_app.app_context():
        with pytest.raises(services.NoFaceFound):
            services.save_snapshot(
                user_id=user, photo=coffee_jpeg(), slug="test-crown", metal_code=None
            )
        assert services.list_snapshots(user_id=user) == []
    uploads = Path(tryon_app.config["UPLOADS_ROOT"])
    assert not uploads.exists() or not any(uploads.rglob("*.*"))


# --- calibrated overlays only; the render path the staff preview shares ------------------------


def uncalibrate(app, slug: str, metal_code: str) -> None:
    from app.catalog.models import Metal, Overlay, Product
    from app.extensions import db

    with app.app_context(), atomic():
        overlay = db.session.execute(
            db.select(Overlay)
            .join(Product, Overlay.product_id == Product.id)
            .join(Metal, Overlay.metal_id == Metal.id)
            .where(Product.slug == slug, Metal.code == metal_code)
        ).scalar_one()
        overlay.calibrated_at = None


def test_an_uncalibrated_metal_is_not_offered(tryon_app):
    uncalibrate(tryon_app, "test-crown", "silver")
    with tryon_app.app_context():
        assert services.get_piece(slug="test-crown").metal_code == "yellow-gold"
        with pytest.raises(services.UnknownMetal, match="in 18k yellow gold, not 'silver'"):
            services.get_piece(slug="test-crown", metal_code="silver")
        catalogue = {c.slug: [m.code for m in c.metals] for c in services.tryon_catalogue()}
        assert catalogue["test-crown"] == ["yellow-gold"]


def test_a_product_with_only_uncalibrated_overlays_has_no_try_on(tryon_app):
    uncalibrate(tryon_app, "other-crown", "silver")
    with tryon_app.app_context():
        with pytest.raises(services.PieceNotFound, match="Other Crown has no try-on picture"):
            services.get_piece(slug="other-crown")
        with pytest.raises(services.PieceNotFound):
            services.locate_piece(frame=astronaut_jpeg(320), slug="other-crown", metal_code=None)
        with pytest.raises(services.PieceNotFound):
            services.try_on_photo(photo=astronaut_jpeg(), slug="other-crown", metal_code=None)
        assert "other-crown" not in {c.slug for c in services.tryon_catalogue()}


@pytest.mark.parametrize("status", ["draft", "retired"])
def test_a_product_not_on_sale_has_no_try_on(tryon_app, status):
    from app.catalog.models import Product
    from app.extensions import db

    with tryon_app.app_context(), atomic():
        product = db.session.execute(
            db.select(Product).where(Product.slug == "other-crown")
        ).scalar_one()
        product.status = status
    with tryon_app.app_context():
        with pytest.raises(services.PieceNotFound):
            services.get_piece(slug="other-crown")
        with pytest.raises(services.PieceNotFound):
            services.try_on_photo(photo=astronaut_jpeg(), slug="other-crown", metal_code=None)
        slugs = {c.slug for c in services.tryon_catalogue()}
        assert "other-crown" not in slugs and "test-crown" in slugs


def test_the_reference_portrait_is_the_suites_real_face(tryon_app):
    """The shipped portrait is scikit-image's astronaut (public domain), found as a face."""
    with tryon_app.app_context():
        data = services.reference_portrait()
        shown = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
        assert shown.shape == astronaut().shape
        assert np.abs(shown - astronaut().astype(int)).mean() < 4
        assert len(services.get_engine().measure(shown.astype(np.uint8))) == 1


def test_render_on_photo_is_the_photo_try_on_with_any_overlay_and_spec(tryon_app):
    """The staff preview's path: an overlay and an unsaved spec, the buyer's compositing."""
    with tryon_app.app_context():
        piece = services.get_piece(slug="test-crown")
        overlay = services.open_overlay(piece.overlay_path)
        rendered = services.render_on_photo(
            photo=astronaut_jpeg(), overlay=overlay, spec=piece.spec
        )
        bought = services.try_on_photo(photo=astronaut_jpeg(), slug="test-crown", metal_code=None)
        wider = ar.PieceSpec.from_dict({**SPEC, "width_mm": 200})
        wide = services.render_on_photo(photo=astronaut_jpeg(), overlay=overlay, spec=wider)
        with pytest.raises(services.NoFaceFound):
            services.render_on_photo(photo=coffee_jpeg(), overlay=overlay, spec=piece.spec)
    assert rendered.jpeg == bought.jpeg and rendered.frame_size == bought.frame_size

    def piece_pixels(jpeg: bytes) -> int:
        image = np.asarray(Image.open(io.BytesIO(jpeg))).astype(int)
        return int((np.abs(image - MAGENTA) < 60).all(axis=2).sum())

    assert piece_pixels(wide.jpeg) > piece_pixels(rendered.jpeg) * 1.3
