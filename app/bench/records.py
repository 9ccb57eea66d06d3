"""Bench records: the artisan's time, tools and date-stamped photos or a short video per sitting,
and the ones staff choose for the piece's public passport ("From the bench")."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from PIL import Image

from app.accounts.models import User
from app.bench.models import BenchMedia, BenchSession
from app.bench.standards import BenchError
from app.checkout.models import Order, OrderLine
from app.common.photos import without_metadata
from app.common.uploads import sniff, store_upload
from app.domain.clock import utcnow
from app.extensions import db
from app.provenance.models import Passport

RECORDING_STAGE = "hand_finishing"
MAX_SESSION_MINUTES = 24 * 60
MAX_FILES = 6
# A short clip: well inside the app-wide request limit (16 MB), so no larger body is allowed.
MAX_BENCH_VIDEO_BYTES = 12 * 1024 * 1024
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_DATETIME = 306


def line_of_order(number: str, line_id: int) -> OrderLine | None:
    """An order's line by the order number and the line id (None if they do not belong)."""
    return db.session.execute(
        db.select(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.number == number, OrderLine.id == line_id)
    ).scalar_one_or_none()


def get_line(order_line_id: int) -> OrderLine:
    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise BenchError("No such order line.")
    return line


def exif_taken_at(data: bytes) -> datetime | None:
    """When the camera says the photo was taken (its own clock), if it says so plausibly."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            text = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    except (OSError, ValueError, SyntaxError):
        return None
    if not isinstance(text, str):
        return None
    try:
        taken = datetime.strptime(text.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    # A camera clock never set (1970, 2000) or set ahead is no date worth showing.
    if taken.year < 2010 or taken > utcnow() + timedelta(days=1):
        return None
    return taken


def _store(data: bytes) -> BenchMedia:
    content_type, _ = sniff(data, allow_video=True)
    if content_type.startswith("video/"):
        if len(data) > MAX_BENCH_VIDEO_BYTES:
            raise BenchError(
                "Bench videos are short clips of up to "
                f"{MAX_BENCH_VIDEO_BYTES // (1024 * 1024)} MB."
            )
        stored = store_upload(data, folder="bench", allow_video=True)
        return BenchMedia(upload_name=stored.name, content_type=stored.content_type)
    taken_at = exif_taken_at(data)
    stored = store_upload(without_metadata(data), folder="bench")
    return BenchMedia(upload_name=stored.name, content_type=stored.content_type, taken_at=taken_at)


def record_session(
    *, order_line_id: int, artisan_id: int, minutes: int, tools: str, files: list[bytes]
) -> BenchSession:
    """Record a sitting at the bench on a line in hand finishing (caller's transaction).

    Files are images (re-encoded without their metadata, the EXIF date kept as a column) or one
    short MP4/MOV/WebM video, judged by their content. Raises BenchError (or UploadError).
    """
    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise BenchError("No such order line.")
    if line.stage != RECORDING_STAGE:
        raise BenchError("Bench time is recorded while the piece is in hand finishing.")
    artisan = db.session.get(User, artisan_id)
    if artisan is None or not artisan.is_staff:
        raise BenchError("Only atelier staff record bench time.")
    if not 0 < minutes <= MAX_SESSION_MINUTES:
        raise BenchError(f"Record 1 to {MAX_SESSION_MINUTES} minutes per sitting.")
    if len(files) > MAX_FILES:
        raise BenchError(f"Send at most {MAX_FILES} photos or videos per sitting.")
    for data in files:
        sniff(data, allow_video=True)  # refuse a bad file before anything is stored
    session = BenchSession(
        order_line_id=line.id,
        artisan_id=artisan.id,
        minutes=minutes,
        tools=" ".join(tools.split())[:500],
        recorded_at=utcnow(),
    )
    session.media = [_store(data) for data in files]
    db.session.add(session)
    db.session.flush()
    return session


def sessions_for_line(order_line_id: int) -> list[BenchSession]:
    return list(
        db.session.execute(
            db.select(BenchSession)
            .where(BenchSession.order_line_id == order_line_id)
            .order_by(BenchSession.id)
        ).scalars()
    )


def minutes_for_line(order_line_id: int) -> int:
    """All the bench time recorded on a line, every sitting and any rework included."""
    total = db.session.execute(
        db.select(db.func.coalesce(db.func.sum(BenchSession.minutes), 0)).where(
            BenchSession.order_line_id == order_line_id
        )
    ).scalar_one()
    return int(total)


def get_media(media_id: int) -> BenchMedia | None:
    return db.session.get(BenchMedia, media_id)


def choose_for_passport(*, media_id: int, chosen: bool, by_user_id: int) -> BenchMedia:
    """Show (or stop showing) a bench photo or video on the piece's public passport."""
    media = get_media(media_id)
    if media is None:
        raise BenchError("No such bench photo.")
    user = db.session.get(User, by_user_id)
    if user is None or not user.is_staff:
        raise BenchError("Only atelier staff choose what the passport shows.")
    media.on_passport = chosen
    media.chosen_by_id = by_user_id if chosen else None
    media.chosen_at = utcnow() if chosen else None
    db.session.flush()
    return media


def _passport_lines(passport: Passport):
    """The order lines whose bench work a passport tells: its commission or its numbered piece."""
    if passport.order_line_id is not None:
        return OrderLine.id == passport.order_line_id
    if passport.piece_id is not None:
        return OrderLine.piece_id == passport.piece_id
    return None


def passport_media(passport: Passport) -> list[BenchMedia]:
    """The bench photos and videos staff chose for this passport, oldest first."""
    where = _passport_lines(passport)
    if where is None:
        return []
    return list(
        db.session.execute(
            db.select(BenchMedia)
            .join(BenchSession, BenchSession.id == BenchMedia.session_id)
            .join(OrderLine, OrderLine.id == BenchSession.order_line_id)
            .where(where, BenchMedia.on_passport.is_(True))
            .order_by(BenchMedia.id)
        ).scalars()
    )


def public_media(code: str, media_id: int) -> BenchMedia | None:
    """A chosen bench file of the passport with this code; None for anything not chosen."""
    passport = db.session.execute(
        db.select(Passport).where(Passport.code == code)
    ).scalar_one_or_none()
    if passport is None:
        return None
    return next((m for m in passport_media(passport) if m.id == media_id), None)
