"""Try-on operations: place a piece on live frames and photos, advise a size, keep snapshots.

Frames and photos are decoded and composited in memory; only a snapshot the buyer saves is
written (through app.common.uploads). The AR engines (photos; live frames) are built once per
process, on first use. Only calibrated overlays (``Overlay.calibrated_at`` set: staff confirmed
the band and width) are ever offered to buyers; staff preview uncalibrated ones through
:func:`render_on_photo`, the same path the buyer's photo takes.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import ar
from app.catalog.models import Metal, Overlay, Product, ProductStatus
from app.common import caching
from app.common.storage import media_storage
from app.common.transactions import atomic, on_commit
from app.common.uploads import MAX_IMAGE_PIXELS, remove_upload, store_upload
from app.extensions import db
from app.tryon import images
from app.tryon.engines import TRACKED_STREAMS, get_engine, measure_live_frame
from app.tryon.models import TryonSnapshot
from app.tryon.size_advice import SizeRecommendation, advise

log = logging.getLogger(__name__)

# ar cannot measure anything smaller.
MIN_SIDE = 32
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTO_PIXELS = MAX_IMAGE_PIXELS
# Live frames are sent at most 320 px wide; anything much bigger is not our page talking.
MAX_FRAME_BYTES = 256 * 1024
MAX_FRAME_SIDE = 640
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
SNAPSHOT_FOLDER = "tryon"
SNAPSHOT_JPEG_QUALITY = 90


class TryonError(Exception):
    """Base of the try-on errors; the message is for the buyer."""


class PieceNotFound(TryonError):
    """No such product, or it has no try-on picture."""


class UnknownMetal(TryonError):
    """The product is not made (or not drawn for try-on) in that metal."""


class PhotoRejected(TryonError):
    """The image sent cannot be used; subclasses say why."""


class EmptyPhoto(PhotoRejected):
    pass


class PhotoTooLarge(PhotoRejected):
    """Too many bytes (checked before anything is decoded)."""


class TooManyPixels(PhotoRejected):
    """Too many pixels (checked from the header before decoding)."""


class NotAnImage(PhotoRejected):
    """Not an image, or a kind of image we do not take."""


class CorruptImage(PhotoRejected):
    """Looks like an image but cannot be decoded."""


class PhotoTooSmall(PhotoRejected):
    pass


class FrameTooLarge(PhotoRejected):
    """A live frame of more bytes than the page ever sends."""


class FrameTooWide(PhotoRejected):
    """A live frame of more pixels than the page ever sends."""


class NoFaceFound(PhotoRejected):
    pass


class SnapshotNotFound(TryonError):
    pass


class TooBusy(TryonError):
    """Every full-size slot of this process is taken; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --- pieces ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TryonPiece:
    """A product in one metal with its try-on picture."""

    product_id: int
    slug: str
    name: str
    kind: str
    metal_id: int
    metal_code: str
    metal_name: str
    overlay_path: str  # relative to MEDIA_ROOT/products, served by catalog.product_media
    spec: ar.PieceSpec


@dataclass(frozen=True)
class TryonMetalChoice:
    code: str
    name: str
    overlay_path: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class TryonProductChoice:
    """A product the page can switch to, with the metals it can be tried on in."""

    slug: str
    name: str
    kind: str
    default_metal: str
    metals: tuple[TryonMetalChoice, ...]


def _piece_from(overlay: Overlay, product: Product, metal: Metal) -> TryonPiece:
    try:
        spec = ar.PieceSpec.from_dict(overlay.spec)
    except ar.InvalidSpec as exc:
        log.error("overlay %s of %s has a bad spec: %s", overlay.id, product.slug, exc)
        raise PieceNotFound(f"{product.name} cannot be tried on just now.") from None
    return TryonPiece(
        product_id=product.id,
        slug=product.slug,
        name=product.name,
        kind=product.kind,
        metal_id=metal.id,
        metal_code=metal.code,
        metal_name=metal.name,
        overlay_path=overlay.path,
        spec=spec,
    )


# Live frames arrive up to 15 a second per buyer; the piece and size table they need change
# rarely, so the shared cache keeps them this long (a catalogue change starts afresh at once).
CATALOG_CACHE_SECONDS = 10.0


def _cached(key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
    name = "tryon:" + ":".join(map(str, key))
    return caching.remember(name, load, timeout=CATALOG_CACHE_SECONDS)


# An overlay staff have uploaded but not yet calibrated would sit at the wrong place and size;
# a draft or retired product is not offered to try on at all.
CALIBRATED = Overlay.calibrated_at.is_not(None)
ON_SALE = Product.status == ProductStatus.PUBLISHED.value


def _load_pieces(slug: str) -> tuple[str, list[TryonPiece], int]:
    rows = db.session.execute(
        select(Overlay, Product, Metal)
        .join(Product, Overlay.product_id == Product.id)
        .join(Metal, Overlay.metal_id == Metal.id)
        .where(Product.slug == slug, CALIBRATED, ON_SALE)
        .order_by(Metal.position)
    ).all()
    if not rows:
        exists = db.session.execute(select(Product.name).where(Product.slug == slug)).scalar()
        if exists is None:
            raise PieceNotFound(f"No piece called {slug[:80]!r}.")
        raise PieceNotFound(f"{exists} has no try-on picture yet.")
    product = rows[0][1]
    return product.name, [_piece_from(*row) for row in rows], product.default_metal_id


def get_piece(*, slug: str, metal_code: str | None = None) -> TryonPiece:
    """Return the product in this metal (default: its default metal) ready for try-on.

    Raises:
        PieceNotFound: no such product, or no try-on picture for it.
        UnknownMetal: the metal is not one it can be tried on in.
    """
    name, pieces, default_metal_id = _cached(("piece", slug), lambda: _load_pieces(slug))
    if not metal_code:
        return next((p for p in pieces if p.metal_id == default_metal_id), pieces[0])
    chosen = next((p for p in pieces if p.metal_code == metal_code), None)
    if chosen is None:
        offered = ", ".join(p.metal_name.lower() for p in pieces)
        raise UnknownMetal(f"{name} can be tried on in {offered}, not {metal_code[:30]!r}.")
    return chosen


def tryon_catalogue() -> list[TryonProductChoice]:
    """Every product that has a try-on picture, with its metals, for the page's piece picker."""
    products = db.session.execute(
        select(Product)
        .where(Product.overlays.any(CALIBRATED), ON_SALE)
        .options(selectinload(Product.overlays).selectinload(Overlay.metal))
        .order_by(Product.name)
    ).scalars()
    choices = []
    for product in products:
        calibrated = (o for o in product.overlays if o.calibrated_at is not None)
        overlays = sorted(calibrated, key=lambda o: o.metal.position)
        metals = tuple(
            TryonMetalChoice(o.metal.code, o.metal.name, o.path, dict(o.spec)) for o in overlays
        )
        default = next(
            (o.metal.code for o in overlays if o.metal_id == product.default_metal_id),
            metals[0].code,
        )
        choices.append(
            TryonProductChoice(product.slug, product.name, product.kind, default, metals)
        )
    return choices


@lru_cache(maxsize=64)
def _prepared_overlay(location: str, key: str, version: str) -> ar.Overlay:
    # Keyed by the storage, the key and its version (mtime and size on disk, ETag in a bucket),
    # so redrawn artwork is picked up without a restart.
    return ar.prepare_overlay(ar.decode_overlay(media_storage().read(key)))


def open_overlay(key: str) -> ar.Overlay:
    """Return the overlay PNG stored under ``key`` in the media storage, premultiplied and cached.

    Raises:
        OSError: not stored (app.common.storage.ObjectMissing) or the storage is unreachable.
        ar.InvalidImage: the file is not a usable image.
    """
    media = media_storage()
    return _prepared_overlay(media.location, key, media.version(key))


def load_overlay(piece: TryonPiece) -> ar.Overlay:
    """Return the piece's PNG from the media storage, premultiplied and cached per process."""
    media = media_storage()
    key = piece.overlay_path
    try:
        overlay = open_overlay(key)
        piece.spec.check_overlay((overlay.width, overlay.height))
    except (OSError, ar.InvalidImage, ar.InvalidSpec) as exc:
        log.error("try-on picture %s%s unusable: %s", media.location, key, exc)
        raise PieceNotFound(f"{piece.name} cannot be tried on just now.") from None
    return overlay


# --- images ----------------------------------------------------------------------------------


def check_image(
    data: bytes,
    *,
    max_bytes: int = MAX_PHOTO_BYTES,
    max_pixels: int = MAX_PHOTO_PIXELS,
    max_side: int | None = None,
) -> tuple[int, int]:
    """Check size, type and dimensions from the bytes and the header only; return (w, h)."""
    if not data:
        raise EmptyPhoto("No picture arrived; choose a photo and try again.")
    if len(data) > max_bytes:
        if max_side is not None:
            raise FrameTooLarge(f"Live frames must be under {max_bytes // 1024} KB.")
        raise PhotoTooLarge(
            f"That photo is over {max_bytes // (1024 * 1024)} MB. Please choose a smaller one "
            "(most phone photos are 2 to 5 MB)."
        )
    try:
        # Image.open reads only the header; pixels are decoded later, after these checks.
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit (the warning is an error only when warnings are errors).
        if max_side is not None:
            raise FrameTooWide(
                f"Live frames must be at most {max_side} pixels on a side."
            ) from None
        raise TooManyPixels(_too_many_pixels(max_pixels)) from None
    except UnidentifiedImageError:
        raise NotAnImage(
            "That file is not a picture we can read. Please choose a JPEG, PNG or WebP photo."
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise CorruptImage(_corrupt()) from None
    if image_format not in ACCEPTED_FORMATS:
        raise NotAnImage(
            f"{image_format} pictures are not accepted. Please choose a JPEG, PNG or WebP photo."
        )
    return _check_dimensions(width, height, max_pixels=max_pixels, max_side=max_side)


def _check_dimensions(
    width: int, height: int, *, max_pixels: int, max_side: int | None
) -> tuple[int, int]:
    if max_side is not None and max(width, height) > max_side:
        raise FrameTooWide(f"Live frames must be at most {max_side} pixels on a side.")
    if width * height > max_pixels:
        raise TooManyPixels(_too_many_pixels(max_pixels))
    if min(width, height) < MIN_SIDE:
        raise PhotoTooSmall(
            f"That picture is only {width}×{height} pixels; please choose a larger photo."
        )
    return width, height


MAX_FRAME_PIXELS = MAX_FRAME_SIDE**2


def check_frame(data: bytes) -> tuple[int, int]:
    """check_image with a live frame's limits; return (w, h).

    The page sends JPEGs: their size is read from the frame header directly (Pillow's open
    costs a tenth of a millisecond a frame inside the server). Anything else, or a JPEG whose
    header is not plainly one image, gets check_image's own checks and messages.
    """
    size = ar.jpeg_size(data) if len(data) <= MAX_FRAME_BYTES else None
    if size is None:
        return check_image(
            data, max_bytes=MAX_FRAME_BYTES, max_pixels=MAX_FRAME_PIXELS, max_side=MAX_FRAME_SIDE
        )
    return _check_dimensions(*size, max_pixels=MAX_FRAME_PIXELS, max_side=MAX_FRAME_SIDE)


def _too_many_pixels(max_pixels: int) -> str:
    return (
        f"That picture is over {max_pixels // 1_000_000} megapixels. Please choose a smaller "
        "one, or resize it first."
    )


def _corrupt() -> str:
    return "That picture seems damaged or incomplete. Please choose another photo."


def decode_checked(data: bytes, **limits: Any) -> Any:
    """Check the image (see check_image) and decode it to an RGB array."""
    check_image(data, **limits)
    max_pixels = limits.get("max_pixels", MAX_PHOTO_PIXELS)
    try:
        return ar.decode_image(data, max_pixels=max_pixels)
    except ar.InvalidImage:
        raise CorruptImage(_corrupt()) from None


def decode_photo(data: bytes, *, max_side: int = images.MAX_WORKING_SIDE) -> Any:
    """Check a photo (see check_image) and decode it to an RGB array at most max_side px a side."""
    check_image(data)
    try:
        return images.decode_bounded(data, max_side)
    except images.UndecodableImage:
        raise CorruptImage(_corrupt()) from None


# --- full-size jobs: a few at a time per process ---------------------------------------------

DEFAULT_PHOTO_JOBS = 2
PHOTO_RETRY_AFTER_SECONDS = 5
_slots_lock = threading.Lock()


def photo_slots() -> threading.BoundedSemaphore:
    """This app's semaphore of full-size jobs (TRYON_PHOTO_JOBS, default 2), made on first use."""
    slots = current_app.extensions.get("tryon.photo_slots")
    if slots is None:
        with _slots_lock:
            slots = current_app.extensions.get("tryon.photo_slots")
            if slots is None:
                jobs = int(current_app.config.get("TRYON_PHOTO_JOBS", DEFAULT_PHOTO_JOBS))
                slots = threading.BoundedSemaphore(max(1, jobs))
                current_app.extensions["tryon.photo_slots"] = slots
    return slots


@contextmanager
def photo_slot() -> Iterator[None]:
    """Hold one full-size slot; TooBusy at once if none is free (no request thread queues)."""
    slots = photo_slots()
    if not slots.acquire(blocking=False):
        raise TooBusy(
            "The try-on is busy with other photos just now; please try again in a few seconds.",
            PHOTO_RETRY_AFTER_SECONDS,
        )
    try:
        yield
    finally:
        slots.release()


# --- live frames -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PoseResult:
    """Where the piece goes on one live frame, in that frame's pixels."""

    piece: TryonPiece
    frame_size: tuple[int, int]
    faces: tuple[ar.FaceMeasurement, ...]
    placements: tuple[ar.Placement, ...]
    advice: SizeRecommendation | None

    def to_json(self) -> dict[str, Any]:
        """Return `python -m ar tryon --json`'s document plus the frame, up vectors and advice."""
        document = ar.faces_json(self.faces, self.placements)
        for placement in self.placements:
            # With band_left/right, `up` fixes the PNG's full affine (pitch, yaw foreshortening).
            document["faces"][placement.face_index]["up"] = [round(v, 4) for v in placement.up]
        document["frame"] = {"width": self.frame_size[0], "height": self.frame_size[1]}
        document["piece"] = {"product": self.piece.slug, "metal": self.piece.metal_code}
        document["size_advice"] = self.advice.to_json() if self.advice else None
        return document


def locate_piece(
    *, frame: bytes, slug: str, metal_code: str | None, stream: str | None = None
) -> PoseResult:
    """Find the faces in a small live frame and place the piece on them (nothing is stored).

    ``stream`` names the camera stream the frame belongs to (unique to one client), so the face
    is tracked from that stream's last frame. No face is not an error: the result has none.
    """
    piece = get_piece(slug=slug, metal_code=metal_code)
    check_frame(frame)
    try:
        # Checked from the header above; OpenCV decodes straight to RGB in one buffer.
        rgb = ar.decode_frame(frame)
    except ar.InvalidImage:
        raise CorruptImage(_corrupt()) from None
    capacity = current_app.config.get("TRYON_TRACKED_STREAMS", TRACKED_STREAMS)
    faces = measure_live_frame(rgb, stream=stream, capacity=capacity)
    placements = ar.place_pieces(faces, piece.spec)
    return PoseResult(
        piece, (rgb.shape[1], rgb.shape[0]), tuple(faces), tuple(placements), advise(faces)
    )


# --- photos and snapshots --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PhotoResult:
    """A photo with the piece composited (at most images.MAX_WORKING_SIDE a side), as JPEG."""

    piece: TryonPiece
    jpeg: bytes
    frame_size: tuple[int, int]
    faces: tuple[ar.FaceMeasurement, ...]
    placements: tuple[ar.Placement, ...]
    advice: SizeRecommendation | None

    @property
    def data_url(self) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(self.jpeg).decode("ascii")

    @property
    def download_name(self) -> str:
        return f"diadem-{self.piece.slug}-{self.piece.metal_code}.jpg"

    def to_json(self) -> dict[str, Any]:
        document = ar.faces_json(self.faces, self.placements)
        document["frame"] = {"width": self.frame_size[0], "height": self.frame_size[1]}
        document["piece"] = {"product": self.piece.slug, "metal": self.piece.metal_code}
        document["size_advice"] = self.advice.to_json() if self.advice else None
        document["image"] = self.data_url
        document["download_name"] = self.download_name
        return document


@dataclass(frozen=True, eq=False)
class RenderedPhoto:
    """A photo with a piece composited on every face, as JPEG, and where it went."""

    jpeg: bytes
    frame_size: tuple[int, int]
    faces: tuple[ar.FaceMeasurement, ...]
    placements: tuple[ar.Placement, ...]


def render_on_photo(*, photo: bytes, overlay: ar.Overlay, spec: ar.PieceSpec) -> RenderedPhoto:
    """Composite ``overlay`` placed by ``spec`` on every face of a photo (nothing is stored).

    The one render path of full-size pictures: the buyer's photos and snapshots, and the staff
    preview of an overlay's calibration before it is saved.

    Raises:
        PhotoRejected: a subclass saying what is wrong with the photo; NoFaceFound if no face.
        TooBusy: this process is already compositing TRYON_PHOTO_JOBS photos.
    """
    check_image(photo)  # refused from the header before waiting for a slot
    with photo_slot():
        rgb = decode_photo(photo)
        result = get_engine().try_on(rgb, overlay, spec)
        if not result.faces:
            raise NoFaceFound(
                "We could not find a face in that picture. Try a well-lit photo where you face "
                "the camera and your whole head is in view."
            )
        jpeg = ar.encode_image(result.image, "jpeg", quality=SNAPSHOT_JPEG_QUALITY)
    return RenderedPhoto(
        jpeg=jpeg,
        frame_size=(rgb.shape[1], rgb.shape[0]),
        faces=result.faces,
        placements=result.placements,
    )


# A real photograph shipped with the shop (scikit-image's "astronaut", Eileen Collins, NASA,
# public domain, 512 x 512), for staff to see an overlay on a face before buyers do.
REFERENCE_PORTRAIT = (
    Path(__file__).resolve().parents[1] / "static" / "img" / "reference-portrait.jpg"
)


@lru_cache(maxsize=1)
def reference_portrait() -> bytes:
    """Return the reference portrait's JPEG bytes."""
    return REFERENCE_PORTRAIT.read_bytes()


def try_on_photo(*, photo: bytes, slug: str, metal_code: str | None) -> PhotoResult:
    """Composite the piece on every face of a photo, at most 2048 px a side (nothing is stored).

    Raises:
        PieceNotFound, UnknownMetal: see get_piece.
        PhotoRejected: a subclass saying what is wrong with the photo; NoFaceFound if no face.
        TooBusy: this process is already compositing TRYON_PHOTO_JOBS photos.
    """
    piece = get_piece(slug=slug, metal_code=metal_code)
    overlay = load_overlay(piece)
    rendered = render_on_photo(photo=photo, overlay=overlay, spec=piece.spec)
    return PhotoResult(
        piece=piece,
        jpeg=rendered.jpeg,
        frame_size=rendered.frame_size,
        faces=rendered.faces,
        placements=rendered.placements,
        advice=advise(rendered.faces),
    )


@dataclass(frozen=True, eq=False)
class SavedSnapshot:
    snapshot: TryonSnapshot
    result: PhotoResult


def save_snapshot(
    *, user_id: int, photo: bytes, slug: str, metal_code: str | None
) -> SavedSnapshot:
    """Composite the photo (as try_on_photo) and keep the result in the buyer's account."""
    result = try_on_photo(photo=photo, slug=slug, metal_code=metal_code)
    advice_range = result.advice.range_mm if result.advice else None
    # A savepoint: a refused insert undoes only itself and takes its stored picture with it
    # (store_upload deletes the file when the savepoint, or the caller's transaction, rolls back).
    with atomic():
        stored = store_upload(result.jpeg, folder=SNAPSHOT_FOLDER)
        snapshot = TryonSnapshot(
            user_id=user_id,
            product_id=result.piece.product_id,
            metal_id=result.piece.metal_id,
            image_name=stored.name,
            head_circumference_mm=result.advice.circumference_mm if result.advice else None,
            head_circumference_low_mm=advice_range[0] if advice_range else None,
            head_circumference_high_mm=advice_range[1] if advice_range else None,
            recommended_size=result.advice.size_code if result.advice else None,
        )
        db.session.add(snapshot)
        db.session.flush()
    return SavedSnapshot(snapshot, result)


def list_snapshots(*, user_id: int) -> list[TryonSnapshot]:
    """The buyer's saved snapshots, newest first."""
    return list(
        db.session.execute(
            select(TryonSnapshot)
            .where(TryonSnapshot.user_id == user_id)
            .options(selectinload(TryonSnapshot.product), selectinload(TryonSnapshot.metal))
            .order_by(TryonSnapshot.created_at.desc(), TryonSnapshot.id.desc())
        ).scalars()
    )


def get_snapshot(*, snapshot_id: int, user_id: int) -> TryonSnapshot:
    """Return the buyer's own snapshot; SnapshotNotFound for anyone else's (or none)."""
    snapshot = db.session.get(TryonSnapshot, snapshot_id)
    if snapshot is None or snapshot.user_id != user_id:
        raise SnapshotNotFound("We could not find that snapshot.")
    return snapshot


def delete_snapshot(*, snapshot_id: int, user_id: int) -> None:
    """Delete the buyer's snapshot and its picture."""
    snapshot = get_snapshot(snapshot_id=snapshot_id, user_id=user_id)
    name = snapshot.image_name
    db.session.delete(snapshot)
    # The picture goes only once the row is gone for good.
    on_commit(lambda: remove_upload(name))
