"""Catalogue photos: processing (bytes in, renditions out) and keeping them in storage and rows."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from pathlib import Path

import pytest
from flask import current_app
from PIL import ExifTags, Image, ImageOps

from app.accounts.models import Role
from app.catalog import artwork_uploads
from app.catalog.artwork_uploads import (
    ArtworkError,
    PhotoMissing,
    add_photo,
    delete_photo,
    move_photo,
    process_photo,
    update_photo,
    variant_widths,
)
from app.catalog.models import ProductImage
from app.common.storage import media_storage
from app.common.transactions import atomic
from app.common.uploads import MAX_UPLOAD_BYTES, UploadError
from app.extensions import db
from tests.conftest import POSTGRES_URL
from tests.factories import make_product
from tests.helpers import csrf_token, login, race
from tests.staff.builders import PASSWORD, make_fast_user

# --- pictures made for the tests ---------------------------------------------------------------

GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (51.0, 30.0, 26.0),
    ExifTags.GPS.GPSLongitudeRef: "W",
    ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.0),
}
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description exif:GPSLatitude="51,30.4N" xmlns:exif="http://ns.adobe.com/'
    b'exif/1.0/"/></rdf:RDF></x:xmpmeta>'
)


def camera_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: orientation, camera, a serial number and where it was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Snap 12"
    exif[ExifTags.Base.Software] = "Studio 1.0"
    exif[ExifTags.IFD.GPSInfo] = GPS
    return exif


def two_tone(size: tuple[int, int], first: str = "red", second: str = "blue") -> Image.Image:
    """Left half ``first``, right half ``second``: which way up it ends shows the orientation."""
    image = Image.new("RGB", size, second)
    image.paste(first, (0, 0, size[0] // 2, size[1]))
    return image


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def phone_jpeg(size: tuple[int, int] = (1200, 800), orientation: int = 1) -> bytes:
    return encode(
        two_tone(size),
        exif=camera_exif(orientation),
        xmp=XMP,
        comment=b"Taken at 12 Crown Street",
        quality=90,
    )


def s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def rgb_profile(red: tuple, green: tuple, blue: tuple, gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 RGB display profile with these (D50) colorants and one gamma."""

    def xyz(values: tuple) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(s15(v) for v in values)

    def text(kind: bytes, value: bytes) -> bytes:
        if kind == b"desc":
            return (
                b"desc\0\0\0\0"
                + struct.pack(">I", len(value) + 1)
                + value
                + b"\0"
                + b"\0" * 8  # no Unicode description
                + b"\0" * 3  # no ScriptCode description
                + b"\0" * 67
            )
        return b"text\0\0\0\0" + value + b"\0"

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256))
    tags = [
        (b"desc", text(b"desc", b"Swapped primaries")),
        (b"cprt", text(b"text", b"No copyright, test data")),
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(red)),
        (b"gXYZ", xyz(green)),
        (b"bXYZ", xyz(blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0\0\0\0"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)  # perceptual
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


# sRGB's own (D50-adapted) colorants with red and green exchanged: what this profile calls red
# is sRGB's green, so a correct conversion turns "red" pixels green.
SWAPPED_PRIMARIES = rgb_profile(
    red=(0.3851, 0.7169, 0.0971), green=(0.4361, 0.2225, 0.0139), blue=(0.1431, 0.0606, 0.7141)
)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels, as a decompression bomb's."""
    data = bytearray(encode(Image.new("1", (8, 8)), "PNG"))
    ihdr = 8  # after the signature: length (4), b"IHDR" (4), width, height, ...
    data[ihdr + 8 : ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4 : ihdr + 8 + 13]))
    data[ihdr + 8 + 13 : ihdr + 8 + 17] = struct.pack(">I", crc)
    return bytes(data)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close(pixel: tuple, expected: tuple, tolerance: int) -> bool:
    return all(abs(a - b) < tolerance for a, b in zip(pixel, expected, strict=True))


def assert_no_metadata(data: bytes) -> None:
    """Nothing of the camera's record survives: no EXIF (so no GPS), XMP, comment or profile."""
    image = decoded(data)
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile"):
        assert key not in image.info, key
    for marker in (b"Exif", b"PhoneCo", b"GPS", b"xmpmeta", b"Crown Street"):
        assert marker not in data, marker


# --- processing --------------------------------------------------------------------------------


def test_every_rendition_loses_exif_gps_xmp_and_comments():
    photo = process_photo(phone_jpeg())
    assert [r.width for r in photo.renditions] == [240, 480, 960, 1200]
    for rendition in photo.renditions:
        assert rendition.content_type == "image/jpeg"
        assert_no_metadata(rendition.data)
        assert decoded(rendition.data).size == (rendition.width, rendition.height)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_the_exif_orientation_is_applied(orientation):
    data = phone_jpeg((1200, 800), orientation=orientation)
    expected = ImageOps.exif_transpose(decoded(data)).resize((120, 120)).convert("RGB")
    photo = process_photo(data)
    main = decoded(photo.main.data)
    upright = (800, 1200) if orientation in (6, 8) else (1200, 800)
    assert main.size == upright
    got = main.resize((120, 120)).convert("RGB")
    for point in [(10, 10), (110, 10), (10, 110), (110, 110)]:
        assert close(got.getpixel(point), expected.getpixel(point), 40)


def test_colours_are_converted_to_srgb_through_the_embedded_profile():
    data = encode(Image.new("RGB", (400, 400), (255, 0, 0)), "PNG", icc_profile=SWAPPED_PRIMARIES)
    photo = process_photo(data)
    for rendition in photo.renditions:
        r, g, b = decoded(rendition.data).convert("RGB").getpixel((200 * rendition.width // 400, 5))
        assert g > 230 and r < 40 and b < 40, (r, g, b)
        assert "icc_profile" not in decoded(rendition.data).info


def test_a_broken_profile_is_ignored_not_fatal():
    data = encode(Image.new("RGB", (400, 400), (10, 120, 200)), "PNG", icc_profile=b"not a profile")
    pixel = decoded(process_photo(data).main.data).getpixel((100, 100))
    assert close(pixel, (10, 120, 200), 6)


def test_cmyk_jpeg_becomes_rgb():
    data = encode(Image.new("CMYK", (500, 400), (0, 255, 255, 0)), "JPEG")
    main = decoded(process_photo(data).main.data)
    assert main.mode == "RGB"
    r, g, b = main.getpixel((250, 200))
    assert r > 200 and g < 60 and b < 60


def test_png_with_transparency_keeps_it_as_webp():
    image = Image.new("RGBA", (800, 600), (0, 0, 0, 0))
    image.paste((200, 160, 40, 255), (200, 150, 600, 450))
    photo = process_photo(encode(image, "PNG"))
    assert photo.has_alpha
    for rendition in photo.renditions:
        assert rendition.content_type == "image/webp" and rendition.extension == ".webp"
        back = decoded(rendition.data)
        assert back.format == "WEBP" and back.mode == "RGBA"
        w, h = back.size
        assert back.getpixel((2, 2))[3] == 0  # the corner stays see-through
        assert back.getpixel((w // 2, h // 2))[3] == 255
        assert_no_metadata(rendition.data)


def test_an_alpha_channel_that_hides_nothing_is_flattened_to_jpeg():
    photo = process_photo(encode(Image.new("RGBA", (500, 500), (20, 90, 160, 255)), "PNG"))
    assert not photo.has_alpha
    assert {r.content_type for r in photo.renditions} == {"image/jpeg"}


def test_palette_png_with_a_transparent_colour_keeps_it():
    image = Image.new("P", (400, 400), 0)
    image.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    image.paste(1, (100, 100, 300, 300))
    main = decoded(process_photo(encode(image, "PNG", transparency=0)).main.data)
    assert main.mode == "RGBA"
    assert main.getpixel((5, 5))[3] == 0 and main.getpixel((200, 200))[3] == 255


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    image = Image.new("I;16", (400, 400), 32768)  # mid grey in 16 bits
    main = decoded(process_photo(encode(image, "PNG")).main.data).convert("L")
    assert 115 < main.getpixel((200, 200)) < 140


@pytest.mark.parametrize(
    ("width", "height", "widths"),
    [
        (3000, 2000, [240, 480, 960, 1600]),
        (1600, 1600, [240, 480, 960, 1600]),
        (1000, 700, [240, 480, 960, 1000]),
        (700, 500, [240, 480, 700]),
        (480, 480, [240, 480]),
        (400, 1200, [240, 400]),
    ],
)
def test_variants_are_never_upscaled(width, height, widths):
    photo = process_photo(encode(two_tone((width, height)), "JPEG"))
    assert [r.width for r in photo.renditions] == widths == variant_widths(width)
    for rendition in photo.renditions:
        assert rendition.width <= width and rendition.height <= height
        assert decoded(rendition.data).size == (rendition.width, rendition.height)
        assert rendition.height == round(height * rendition.width / width)


def test_a_large_jpeg_is_decoded_small_and_still_sized_right():
    photo = process_photo(encode(two_tone((6000, 4000)), "JPEG", quality=70))
    assert (photo.main.width, photo.main.height) == (1600, 1067)


def test_a_webp_upload_is_accepted():
    photo = process_photo(encode(two_tone((900, 600)), "WEBP"))
    assert [r.width for r in photo.renditions] == [240, 480, 900]


def test_a_jpeg_named_png_is_judged_by_its_content():
    # The name and the declared type never reach the check: these are the JPEG's bytes, so
    # they are read as a JPEG (and written out afresh), whatever the file was called.
    photo = process_photo(phone_jpeg())
    assert photo.main.content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Just some notes about the crown.\n" * 20, "not an image"),
        (b"", "empty"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "not an image",
        ),
        (encode(Image.new("RGB", (400, 400), "gold"), "GIF"), "Only JPEG, PNG or WebP"),
        (encode(Image.new("RGB", (400, 400), "gold"), "BMP"), "Only JPEG, PNG or WebP"),
    ],
    ids=["text", "empty", "svg", "gif", "bmp"],
)
def test_what_is_not_a_jpeg_png_or_webp_is_refused(data, message):
    with pytest.raises(UploadError, match=message):
        process_photo(data)


@pytest.mark.parametrize("side", [7000, 20_000, 60_000])
def test_too_many_pixels_is_refused_before_decoding(side):
    with pytest.raises(UploadError, match="over 40 megapixels"):
        process_photo(png_claiming(side, side))


def test_more_bytes_than_any_upload_is_refused():
    with pytest.raises(UploadError, match="over 8 MB"):
        process_photo(b"\xff\xd8\xff" + b"\0" * MAX_UPLOAD_BYTES)


def test_a_truncated_jpeg_is_refused_clearly():
    data = encode(two_tone((1200, 800)), "JPEG", quality=95)
    with pytest.raises(UploadError, match="damaged or cut short"):
        process_photo(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("size", "message"), [((300, 800), "at least 320"), ((2000, 400), "more than 4 times")]
)
def test_too_small_or_too_thin_is_refused(size, message):
    with pytest.raises(UploadError, match=message):
        process_photo(encode(two_tone(size), "PNG"))


# --- a product's pictures in storage and rows --------------------------------------------------


@pytest.fixture
def product_id(app_ctx):
    return make_product("aurelia-test", metals=("yellow-gold", "silver")).id


def stored_keys(product_id: int) -> set[str]:
    images = db.session.execute(
        db.select(ProductImage).where(ProductImage.product_id == product_id)
    ).scalars()
    return set().union(*(artwork_uploads.photo_keys(i) for i in images))


def test_add_photo_stores_every_size_under_the_product(product_id):
    with atomic():
        image = add_photo(
            product_id=product_id,
            data=phone_jpeg(),
            alt="  Aurelia,\n front  ",
            metal_code="silver",
        )
    image = db.session.get(ProductImage, image.id)
    assert image.alt == "Aurelia, front"
    assert image.metal_id is not None and image.position == 0
    assert (image.width, image.height) == (1200, 800)
    assert [v["width"] for v in image.variants] == [240, 480, 960, 1200]
    assert image.path == image.variants[-1]["path"]
    storage = media_storage()
    for variant in image.variants:
        assert variant["path"].startswith("aurelia-test/photos/")
        data = storage.read(variant["path"])
        assert decoded(data).width == variant["width"]
        assert_no_metadata(data)
    with atomic():
        second = add_photo(product_id=product_id, data=phone_jpeg(), alt="Side")
    assert second.position == 1 and second.metal_id is None


def test_a_metal_the_product_is_not_made_in_is_refused(product_id):
    with pytest.raises(ArtworkError, match="not made in 'platinum'"), atomic():
        add_photo(product_id=product_id, data=phone_jpeg(), alt="Front", metal_code="platinum")
    with pytest.raises(ArtworkError, match="not made in 'no-such-metal'"), atomic():
        add_photo(product_id=product_id, data=phone_jpeg(), alt="Front", metal_code="no-such-metal")
    assert stored_keys(product_id) == set()


def test_alt_text_is_required(product_id):
    with pytest.raises(ArtworkError, match="alt text"), atomic():
        add_photo(product_id=product_id, data=phone_jpeg(), alt="   ")


def test_files_stored_in_a_transaction_that_rolls_back_are_removed(product_id):
    storage = media_storage()
    with pytest.raises(RuntimeError), atomic():
        image = add_photo(product_id=product_id, data=phone_jpeg(), alt="Front")
        keys = artwork_uploads.photo_keys(image)
        assert all(storage.exists(key) for key in keys)
        raise RuntimeError("something later in the same transaction failed")
    assert keys and not any(storage.exists(key) for key in keys)
    assert db.session.execute(db.select(ProductImage)).first() is None


def test_move_photo_renumbers_positions(product_id):
    with atomic():
        ids = [
            add_photo(product_id=product_id, data=phone_jpeg((640, 480)), alt=f"View {n}").id
            for n in range(4)
        ]

    def order() -> list[int]:
        rows = db.session.execute(
            db.select(ProductImage.id, ProductImage.position)
            .where(ProductImage.product_id == product_id)
            .order_by(ProductImage.position)
        ).all()
        assert [position for _, position in rows] == list(range(len(rows)))
        return [image_id for image_id, _ in rows]

    with atomic():
        move_photo(product_id=product_id, image_id=ids[2], move="up")
    assert order() == [ids[0], ids[2], ids[1], ids[3]]
    with atomic():
        move_photo(product_id=product_id, image_id=ids[3], move="first")
    assert order() == [ids[3], ids[0], ids[2], ids[1]]
    with atomic():
        move_photo(product_id=product_id, image_id=ids[3], move="up")  # already first
        move_photo(product_id=product_id, image_id=ids[0], move="last")
    assert order() == [ids[3], ids[2], ids[1], ids[0]]
    with pytest.raises(ArtworkError), atomic():
        move_photo(product_id=product_id, image_id=ids[0], move="sideways")


def test_update_photo_changes_alt_and_metal(product_id):
    with atomic():
        image_id = add_photo(product_id=product_id, data=phone_jpeg(), alt="Front").id
    with atomic():
        update_photo(product_id=product_id, image_id=image_id, alt="Back", metal_code="yellow-gold")
    image = db.session.get(ProductImage, image_id)
    assert image.alt == "Back" and image.metal_id is not None
    with pytest.raises(ArtworkError), atomic():
        update_photo(product_id=product_id, image_id=image_id, alt="Back", metal_code="platinum")
    with atomic():
        update_photo(product_id=product_id, image_id=image_id, alt="Back", metal_code=None)
    assert db.session.get(ProductImage, image_id).metal_id is None


def test_delete_photo_removes_its_files_after_the_commit(product_id):
    storage = media_storage()
    with atomic():
        keep = add_photo(product_id=product_id, data=phone_jpeg(), alt="Front")
        gone = add_photo(product_id=product_id, data=phone_jpeg(), alt="Side")
    keep_keys, gone_keys = artwork_uploads.photo_keys(keep), artwork_uploads.photo_keys(gone)
    with pytest.raises(RuntimeError), atomic():
        delete_photo(product_id=product_id, image_id=gone.id)
        raise RuntimeError("rolled back: the files must stay")
    assert all(storage.exists(key) for key in gone_keys)
    with atomic():
        delete_photo(product_id=product_id, image_id=gone.id)
        assert all(storage.exists(key) for key in gone_keys)  # not before the commit
    assert not any(storage.exists(key) for key in gone_keys)
    assert all(storage.exists(key) for key in keep_keys)
    with pytest.raises(PhotoMissing), atomic():
        delete_photo(product_id=product_id, image_id=gone.id)


def test_another_products_picture_cannot_be_touched(product_id):
    other = make_product("other-test").id
    with atomic():
        image_id = add_photo(product_id=other, data=phone_jpeg(), alt="Other").id
    for change in (
        lambda: delete_photo(product_id=product_id, image_id=image_id),
        lambda: move_photo(product_id=product_id, image_id=image_id, move="first"),
        lambda: update_photo(product_id=product_id, image_id=image_id, alt="x", metal_code=None),
    ):
        with pytest.raises(PhotoMissing), atomic():
            change()


def test_photos_go_to_s3_and_leave_it_when_deleted(app, s3_settings):
    import boto3

    app.config.update(s3_settings)
    with app.app_context():
        product_id = make_product("s3-test", metals=("yellow-gold",)).id
        with atomic():
            image = add_photo(product_id=product_id, data=phone_jpeg(), alt="Front")
        keys = artwork_uploads.photo_keys(image)
        client = boto3.client("s3", endpoint_url=s3_settings["S3_ENDPOINT_URL"])

        def listed() -> set[str]:
            found = client.list_objects_v2(Bucket=s3_settings["S3_BUCKET"])
            return {item["Key"] for item in found.get("Contents", [])}

        assert listed() == {f"diadem/products/{key}" for key in keys}
        for key in keys:
            assert_no_metadata(media_storage().read(key))
        with atomic():
            delete_photo(product_id=product_id, image_id=image.id)
        assert listed() == set()


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks on PostgreSQL")
def test_photos_added_at_once_get_positions_of_their_own(app, monkeypatch):
    """Staff adding photos to one product at the same moment take turns on the product's row."""
    workers = 4
    with app.app_context():
        product_id = make_product("busy-crown").id
        processed = process_photo(phone_jpeg((640, 480)))
    ready = threading.Barrier(workers)

    def processed_together(data: bytes, **options) -> artwork_uploads.ProcessedPhoto:
        ready.wait(timeout=20)  # every worker reaches the lock together
        return processed

    monkeypatch.setattr(artwork_uploads, "process_photo", processed_together)

    def add(n: int) -> None:
        with atomic():
            add_photo(product_id=product_id, data=b"", alt=f"View {n}")

    race(workers, add, app=app)  # re-raises any racer's error
    with app.app_context():
        positions = db.session.execute(
            db.select(ProductImage.position).where(ProductImage.product_id == product_id)
        ).scalars()
        assert sorted(positions) == list(range(workers))


def test_the_upload_shows_at_once_and_a_failed_sizes_job_can_be_run_again(product_id, monkeypatch):
    """The request stores the main picture; the smaller sizes are a job that may fail and be
    re-run without harm."""
    storage = media_storage()
    with monkeypatch.context() as broken:
        broken.setattr(artwork_uploads, "smaller_renditions", lambda main, widths: 1 / 0)
        with atomic():
            image_id = add_photo(product_id=product_id, data=phone_jpeg(), alt="Front").id
    image = db.session.get(ProductImage, image_id)
    # The job failed after the commit (logged): the picture stands, at its full size only.
    assert [v["width"] for v in image.variants] == [1200] and storage.exists(image.path)
    assert artwork_uploads.missing_widths(image) == [240, 480, 960]

    assert artwork_uploads.make_variants(image_id=image_id) == 3
    image = db.session.get(ProductImage, image_id)
    assert [v["width"] for v in image.variants] == [240, 480, 960, 1200]
    assert image.path == image.variants[-1]["path"]
    for variant in image.variants:
        assert decoded(storage.read(variant["path"])).width == variant["width"]
    keys = stored_keys(product_id)
    assert artwork_uploads.make_variants(image_id=image_id) == 0  # nothing left to make
    assert stored_keys(product_id) == keys


def test_sizes_made_for_a_picture_deleted_meanwhile_are_removed(product_id, monkeypatch):
    storage = media_storage()
    with monkeypatch.context() as lost:
        lost.setattr(artwork_uploads.jobs, "run_soon", lambda fn, **kwargs: None)
        with atomic():
            image = add_photo(product_id=product_id, data=phone_jpeg(), alt="Front")
    main, image_id = image.path, image.id
    real_read = storage.read

    def read_then_delete(key: str) -> bytes:
        data = real_read(key)
        with atomic():  # staff delete the picture while its sizes are being made
            delete_photo(product_id=product_id, image_id=image_id)
        return data

    monkeypatch.setattr(type(storage), "read", lambda self, key: read_then_delete(key))
    assert artwork_uploads.make_variants(image_id=image_id) == 0
    folder = Path(current_app.config["MEDIA_ROOT"]) / "products" / "aurelia-test" / "photos"
    assert not storage.exists(main) and list(folder.iterdir()) == []


def test_staff_see_pictures_lacking_sizes_and_queue_them_again(app, client, monkeypatch):
    with app.app_context():
        product_id = make_product("retry-crown").id
        make_fast_user(email="mira@example.org", name="Mira", role=Role.STAFF)
        with monkeypatch.context() as broken:
            broken.setattr(artwork_uploads, "smaller_renditions", lambda main, widths: 1 / 0)
            with atomic():
                image_id = add_photo(product_id=product_id, data=phone_jpeg(), alt="Front").id
    login(client, "mira@example.org", PASSWORD)
    page_url = f"/staff/catalog/artwork/{product_id}"
    assert "smaller sizes being made" in client.get(page_url).get_data(as_text=True)
    sizes_url = f"{page_url}/sizes"
    assert client.post(sizes_url, data={}).status_code == 400  # no CSRF token
    response = client.post(sizes_url, data={"csrf_token": csrf_token(client, page_url)})
    assert response.status_code == 302
    with app.app_context():
        image = db.session.get(ProductImage, image_id)
        assert [v["width"] for v in image.variants] == [240, 480, 960, 1200]
    assert "smaller sizes being made" not in client.get(page_url).get_data(as_text=True)
