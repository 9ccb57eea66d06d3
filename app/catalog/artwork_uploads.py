"""Catalogue photos: an upload made safe and sized for the web, stored, and kept in order.

Three layers, each usable alone:

- :func:`process_photo` is pure (bytes in, renditions out): the type is judged from the bytes
  (``app.common.uploads.sniff``: JPEG, PNG or WebP, the shop's byte and pixel limits), the
  picture is turned upright from its EXIF orientation, converted to sRGB from its ICC profile,
  and re-encoded at each width of :data:`VARIANT_WIDTHS` it reaches (never upscaled). Nothing
  of the original file but its pixels survives: no EXIF, GPS, XMP, comments or profile.
- :func:`store_photo` puts the renditions in ``media_storage()`` under the product's prefix; in
  ``atomic()`` they are deleted again if the transaction rolls back.
- The upload request makes and stores only the main (widest) rendition, so the picture shows at
  once; :func:`make_variants`, a job queued after the commit (``jobs.run_soon``), adds the
  smaller sizes from it. Until then, or if the job fails, pages use the main rendition; the job
  only adds the sizes still missing, so running it again (a retry, a later upload to the same
  product, staff's "make the missing sizes") is harmless.
- ``add_photo``, ``update_photo``, ``move_photo`` and ``delete_photo`` keep a product's
  ``ProductImage`` rows: alt text required, a metal the product is offered in, positions
  0..n-1, files removed after the commit that drops their row. They never commit; each locks
  the product row first, so two staff editing one product's pictures take turns.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, partial

from PIL import Image, ImageCms, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.catalog.models import Metal, Product, ProductImage
from app.common import jobs
from app.common.caching import catalogue_changed
from app.common.locks import lock_row
from app.common.storage import Storage, StorageError, media_storage
from app.common.transactions import atomic, in_atomic, on_commit, on_rollback
from app.common.uploads import MAX_IMAGE_PIXELS, UploadError, sniff
from app.extensions import db

log = logging.getLogger(__name__)

# Widths of the renditions, for srcset: a thumbnail or small card (240), a phone (480), a
# laptop column or a 2x phone (960) and the widest the product page ever shows sharply on a 2x
# screen (1600). A photo narrower than 1600 px is kept at its own width, never enlarged.
VARIANT_WIDTHS = (240, 480, 960, 1600)
# Smaller than this on a side cannot look sharp in the product page's main picture.
MIN_SIDE = 320
# A strip longer than four times its width is a banner or a mistake, not a catalogue photo.
MAX_ASPECT = 4
JPEG_QUALITY = 85
WEBP_QUALITY = 85
MAX_ALT_LENGTH = 200  # ProductImage.alt

_EXIF_ORIENTATION = 0x0112
# Image.Transpose for each EXIF orientation (as ImageOps.exif_transpose applies them).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES = {5, 6, 7, 8}
# Modes that resample and carry a colour profile as they are; anything else is converted first.
_WORKING_MODES = {"RGB", "RGBA", "L", "LA", "CMYK"}
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,79}")
# What store_photo names a rendition: "<prefix>/photos/<random>-<width>w.<jpg|webp>".
_RENDITION_KEY = re.compile(r"(?P<stem>.+)-(?P<width>[0-9]+)w(?P<extension>\.jpg|\.webp)")


# --- processing: bytes in, renditions out -------------------------------------------------------


@dataclass(frozen=True)
class Rendition:
    """One encoded size of a photo."""

    width: int
    height: int
    data: bytes
    content_type: str
    extension: str


@dataclass(frozen=True)
class ProcessedPhoto:
    """A photo ready for the web: its renditions narrowest first, the widest being the main one."""

    renditions: tuple[Rendition, ...]
    has_alpha: bool

    @property
    def main(self) -> Rendition:
        return self.renditions[-1]


def variant_widths(width: int, widths: Sequence[int] = VARIANT_WIDTHS) -> list[int]:
    """The widths to render a picture ``width`` px wide at: those it exceeds, then its own
    width capped at the widest; never more than the picture has."""
    main = min(width, max(widths))
    return sorted({w for w in widths if w < main} | {main})


def process_photo(data: bytes, *, widths: Sequence[int] = VARIANT_WIDTHS) -> ProcessedPhoto:
    """Check an uploaded photo by its content and return its web renditions.

    Raises:
        UploadError: not a JPEG, PNG or WebP by content, over the byte or pixel limits, too
            small, too long and thin, or its pixels cannot be decoded. The message is for staff.
    """
    sniff(data)  # type by content, MAX_UPLOAD_BYTES and MAX_IMAGE_PIXELS, before any decoding
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise UploadError(f"The image is over {MAX_IMAGE_PIXELS // 1_000_000} megapixels.")
            return _process(image, widths)
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadError(f"The image is over {MAX_IMAGE_PIXELS // 1_000_000} megapixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadError("The picture's data is damaged or cut short; export it again.") from exc


def _process(image: Image.Image, widths: Sequence[int]) -> ProcessedPhoto:
    orientation = image.getexif().get(_EXIF_ORIENTATION)
    orientation = orientation if orientation in _ORIENTATION else None
    swaps = orientation in _SWAPS_SIDES
    width, height = (image.height, image.width) if swaps else image.size
    if min(width, height) < MIN_SIDE:
        raise UploadError(
            f"The picture is {width} × {height} pixels; catalogue photos need at least "
            f"{MIN_SIDE} pixels on each side."
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise UploadError(
            f"The picture is {width} × {height} pixels, more than {MAX_ASPECT} times as long as "
            "it is wide; crop it closer to the piece."
        )
    sizes = [(w, max(1, round(height * w / width))) for w in variant_widths(width, widths)]
    main_width, main_height = sizes[-1]
    stored_size = (main_height, main_width) if swaps else (main_width, main_height)
    icc_profile = image.info.get("icc_profile")
    if image.format == "JPEG":
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale while both sides stay at least this large,
        # so a 40 MP photo never exists in memory at full size.
        image.draft(None, stored_size)
    image.load()
    image = _working_mode(image)
    if image.size != stored_size:
        # reduce() by a whole factor first, then Lanczos: quick and sharp.
        image = image.resize(stored_size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    if orientation is not None:
        image = image.transpose(_ORIENTATION[orientation])
    image = _srgb(image, icc_profile)
    has_alpha = image.mode == "RGBA" and image.getchannel("A").getextrema()[0] < 255
    if image.mode == "RGBA" and not has_alpha:
        image = image.convert("RGB")  # an alpha channel that hides nothing: a JPEG will do
    renditions = [_encode(image)]
    # Each smaller size from the next larger one: cheaper than from the main, just as sharp.
    for size in reversed(sizes[:-1]):
        image = image.resize(size, Image.Resampling.LANCZOS)
        renditions.append(_encode(image))
    return ProcessedPhoto(renditions=tuple(reversed(renditions)), has_alpha=has_alpha)


def _working_mode(image: Image.Image) -> Image.Image:
    """Palette, 1-bit, 16-bit and premultiplied pictures in a mode that resamples well."""
    if "transparency" in image.info and image.mode in ("RGB", "L", "P", "1"):
        return image.convert("RGBA")  # a PNG with one colour marked transparent
    if image.mode in _WORKING_MODES:
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit greyscale PNGs: scale to 8 bits rather than clip everything above 255 to white.
        return image.convert("I").point(lambda value: value / 256).convert("L")
    return image.convert("RGBA" if image.mode in ("PA", "La", "RGBa") else "RGB")


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """The picture in sRGB (RGB or RGBA), converted through its embedded profile if it has one.

    Browsers show untagged pictures as sRGB, so a Display P3, Adobe RGB or CMYK photo would
    otherwise look dull or wrong. A profile that cannot be read is ignored (pixels taken as sRGB).
    """
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    colour = image if alpha is None else image.convert({"RGBA": "RGB", "LA": "L"}[image.mode])
    converted = None
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(
                colour,
                source,
                _srgb_profile(),
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            log.info("ignoring an unreadable or mismatched ICC profile in a catalogue photo")
    if converted is None:
        converted = colour if colour.mode == "RGB" else colour.convert("RGB")
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def _encode(image: Image.Image) -> Rendition:
    # A fresh info dict: nothing read from the upload (EXIF, XMP, comments, profile) is written.
    image.info = {}
    buffer = io.BytesIO()
    if image.mode == "RGBA":
        # WebP keeps the transparency at a fraction of a PNG's size; every current browser
        # shows it.
        image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
        content_type, extension = "image/webp", ".webp"
    else:
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        content_type, extension = "image/jpeg", ".jpg"
    return Rendition(
        width=image.width,
        height=image.height,
        data=buffer.getvalue(),
        content_type=content_type,
        extension=extension,
    )


# --- storing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPhoto:
    path: str  # the main (widest) rendition's key in media storage
    width: int
    height: int
    variants: list[dict[str, int | str]]  # [{"width": w, "path": key}, ...], widest last


def storage_prefix(product: Product) -> str:
    """The folder of a product's pictures in media storage: its slug, if that is a safe key."""
    return product.slug if _KEY_SEGMENT.fullmatch(product.slug) else f"product-{product.id}"


def store_photo(
    photo: ProcessedPhoto, *, prefix: str, storage: Storage | None = None
) -> StoredPhoto:
    """Put every rendition in media storage under ``<prefix>/photos/``, named at random.

    Inside ``atomic()`` each stored file is deleted again if the transaction (or the savepoint
    it was stored in) rolls back.
    """
    storage = storage if storage is not None else media_storage()
    stem = f"{prefix}/photos/{secrets.token_hex(8)}"
    variants: list[dict[str, int | str]] = []
    for rendition in photo.renditions:
        key = f"{stem}-{rendition.width}w{rendition.extension}"
        storage.put(key, rendition.data, content_type=rendition.content_type)
        if in_atomic():
            on_rollback(partial(storage.delete, key))
        variants.append({"width": rendition.width, "path": key})
    return StoredPhoto(
        path=str(variants[-1]["path"]),
        width=photo.main.width,
        height=photo.main.height,
        variants=variants,
    )


def photo_keys(image: ProductImage) -> set[str]:
    """Every file a picture row points at: its main path and each variant's."""
    keys = {image.path}
    for variant in image.variants or ():
        if isinstance(variant, dict) and isinstance(variant.get("path"), str):
            keys.add(variant["path"])
    return keys


def remove_files(keys: Iterable[str], *, storage: Storage | None = None) -> None:
    """Delete stored files; a failure is logged (an orphan file harms nobody), never raised."""
    storage = storage if storage is not None else media_storage()
    for key in sorted(keys):
        try:
            storage.delete(key)
        except (StorageError, ValueError):
            log.exception("could not delete catalogue picture %s", key)


# --- the smaller sizes, made by a job ----------------------------------------------------------


def missing_widths(image: ProductImage) -> list[int]:
    """The srcset widths a picture stored by :func:`store_photo` still lacks (none for others)."""
    if not image.width or not image.variants or not _RENDITION_KEY.fullmatch(image.path):
        return []  # the demo's pictures and hand-made rows have the sizes they were given
    have = {v.get("width") for v in image.variants if isinstance(v, dict)}
    return [w for w in variant_widths(image.width) if w not in have]


def smaller_renditions(main: bytes, widths: Sequence[int]) -> list[Rendition]:
    """Renditions of a stored main rendition (our own clean JPEG or WebP) at ``widths``."""
    image = Image.open(io.BytesIO(main))
    image.load()
    main_width, main_height = image.size
    renditions = []
    # Each size from the next larger one, as process_photo does.
    for width in sorted(widths, reverse=True):
        size = (width, max(1, round(main_height * width / main_width)))
        image = image.resize(size, Image.Resampling.LANCZOS)
        renditions.append(_encode(image))
    return renditions[::-1]


def make_variants(*, image_id: int) -> int:
    """The job: store a picture's missing smaller sizes and list them on its row; how many.

    Idempotent: sizes already listed are skipped and the keys are fixed by the main file's
    name, so a second run after a crash overwrites its own half-made files. A picture deleted
    (or replaced) meanwhile has the files made for it removed again.
    """
    with atomic():
        image = db.session.get(ProductImage, image_id)
        if image is None or not (widths := missing_widths(image)):
            return 0
        main_key, product_id = image.path, image.product_id
    storage = media_storage()
    match = _RENDITION_KEY.fullmatch(main_key)
    assert match is not None  # missing_widths() checked it
    made: list[dict[str, int | str]] = []
    for rendition in smaller_renditions(storage.read(main_key), widths):
        key = f"{match['stem']}-{rendition.width}w{rendition.extension}"
        storage.put(key, rendition.data, content_type=rendition.content_type)
        made.append({"width": rendition.width, "path": key})
    with atomic():
        _lock_product(product_id)  # delete_photo holds the same lock: one of us goes first
        image = db.session.get(ProductImage, image_id, populate_existing=True)
        if image is None or image.path != main_key:
            on_commit(partial(remove_files, [str(v["path"]) for v in made], storage=storage))
            return 0
        by_width = {v["width"]: v for v in image.variants or () if isinstance(v, dict)}
        by_width.update({v["width"]: v for v in made})
        image.variants = [by_width[w] for w in sorted(by_width)]
        catalogue_changed()
    return len(made)


def queue_missing_variants_after_commit(product_id: int) -> int:
    """After the commit, queue :func:`make_variants` for each picture of the product lacking
    sizes (the one just uploaded, and any whose job failed); return how many."""
    images = _ordered_images(product_id)
    pending = [image.id for image in images if missing_widths(image)]
    for image_id in pending:
        on_commit(partial(jobs.run_soon, make_variants, image_id=image_id))
    return len(pending)


# --- a product's pictures ----------------------------------------------------------------------


class ArtworkError(ValueError):
    """The change to a product's pictures was refused; the message is for staff."""


class ProductMissing(ArtworkError):
    pass


class PhotoMissing(ArtworkError):
    pass


MOVES = ("first", "up", "down", "last")


def products_with_photo_counts() -> list[tuple[Product, int]]:
    """Every product (drafts and retired ones too) with how many pictures it has, by name."""
    count = (
        select(func.count(ProductImage.id))
        .where(ProductImage.product_id == Product.id)
        .correlate(Product)
        .scalar_subquery()
    )
    rows = db.session.execute(select(Product, count).order_by(Product.name, Product.id))
    return [(product, n) for product, n in rows]


def product_for_artwork(product_id: int) -> Product:
    """The product with its metals and pictures loaded; ProductMissing if there is none."""
    product = db.session.execute(
        select(Product)
        .where(Product.id == product_id)
        .options(selectinload(Product.metals), selectinload(Product.images))
    ).scalar_one_or_none()
    if product is None:
        raise ProductMissing("There is no such product.")
    return product


def all_metals_by_id() -> dict[int, Metal]:
    return {m.id: m for m in db.session.execute(select(Metal).order_by(Metal.position)).scalars()}


def add_photo(
    *, product_id: int, data: bytes, alt: str, metal_code: str | None = None
) -> ProductImage:
    """Process an upload and add it as the product's last picture; caller owns the transaction.

    Raises:
        ProductMissing, ArtworkError: no such product, no alt text, a metal it is not made in.
        UploadError: the file itself was refused (see :func:`process_photo`).
    """
    product = product_for_artwork(product_id)
    alt = _alt_text(alt)
    metal = _offered_metal(product, metal_code)
    # The slow part (decoding, resizing, storing) happens before the product row is locked.
    # Only the main rendition is made here; the smaller sizes are a job after the commit.
    main_only = process_photo(data, widths=(max(VARIANT_WIDTHS),))
    stored = store_photo(main_only, prefix=storage_prefix(product))
    _lock_product(product_id)
    last = db.session.execute(
        select(func.max(ProductImage.position)).where(ProductImage.product_id == product_id)
    ).scalar()
    image = ProductImage(
        product_id=product_id,
        metal_id=metal.id if metal else None,
        path=stored.path,
        alt=alt,
        position=0 if last is None else last + 1,
        width=stored.width,
        height=stored.height,
        variants=stored.variants,
    )
    db.session.add(image)
    db.session.flush()
    catalogue_changed()
    queue_missing_variants_after_commit(product_id)
    return image


def update_photo(
    *, product_id: int, image_id: int, alt: str, metal_code: str | None
) -> ProductImage:
    """Change a picture's alt text and the metal it shows."""
    product = _lock_product(product_id)
    image = _image_of(product_id, image_id)
    image.alt = _alt_text(alt)
    metal = _offered_metal(product, metal_code)
    image.metal_id = metal.id if metal else None
    catalogue_changed()
    return image


def move_photo(*, product_id: int, image_id: int, move: str) -> ProductImage:
    """Move a picture first, up, down or last; positions become 0..n-1 in the new order."""
    if move not in MOVES:
        raise ArtworkError("Move a picture first, up, down or last.")
    _lock_product(product_id)
    images = _ordered_images(product_id)
    image = next((i for i in images if i.id == image_id), None)
    if image is None:
        raise PhotoMissing("That picture is not one of this product's.")
    at = images.index(image)
    target = {"first": 0, "up": at - 1, "down": at + 1, "last": len(images) - 1}[move]
    images.insert(max(0, min(target, len(images) - 1)), images.pop(at))
    _renumber(images)
    catalogue_changed()
    return image


def delete_photo(*, product_id: int, image_id: int) -> None:
    """Remove a picture; its files are deleted once the transaction commits (needs atomic())."""
    _lock_product(product_id)
    images = _ordered_images(product_id)
    image = next((i for i in images if i.id == image_id), None)
    if image is None:
        raise PhotoMissing("That picture is not one of this product's.")
    images.remove(image)
    # A file another picture still shows stays (none should, but a hand-made row might).
    orphans = photo_keys(image) - set().union(*(photo_keys(i) for i in images))
    db.session.delete(image)
    _renumber(images)
    db.session.flush()
    storage = media_storage()
    on_commit(partial(remove_files, orphans, storage=storage))
    catalogue_changed()


def _lock_product(product_id: int) -> Product:
    product = lock_row(Product, product_id)
    if product is None:
        raise ProductMissing("There is no such product.")
    return product


def _ordered_images(product_id: int) -> list[ProductImage]:
    return list(
        db.session.execute(
            select(ProductImage)
            .where(ProductImage.product_id == product_id)
            .order_by(ProductImage.position, ProductImage.id)
        ).scalars()
    )


def _image_of(product_id: int, image_id: int) -> ProductImage:
    image = db.session.get(ProductImage, image_id)
    if image is None or image.product_id != product_id:
        raise PhotoMissing("That picture is not one of this product's.")
    return image


def _renumber(images: list[ProductImage]) -> None:
    for position, image in enumerate(images):
        if image.position != position:
            image.position = position


def _alt_text(alt: str | None) -> str:
    text = " ".join((alt or "").split())
    if not text:
        raise ArtworkError(
            "Describe the picture (alt text) for people who cannot see it, e.g. "
            "“The crown from the front, on a velvet stand”."
        )
    if len(text) > MAX_ALT_LENGTH:
        raise ArtworkError(f"Keep the description to {MAX_ALT_LENGTH} characters.")
    return text


def _offered_metal(product: Product, metal_code: str | None) -> Metal | None:
    """The metal the picture shows, which must be one the product is made in (None: any)."""
    if not metal_code:
        return None
    metal = next((m for m in product.metals if m.code == metal_code), None)
    if metal is None:
        offered = ", ".join(m.name for m in product.metals) or "no metal yet"
        raise ArtworkError(
            f"{product.name} is not made in {metal_code[:32]!r}; it is offered in {offered}."
        )
    return metal
