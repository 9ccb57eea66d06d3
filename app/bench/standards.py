"""Hand-finish standards per product kind: set by admins, read at the bench and at QC."""

from __future__ import annotations

from app.accounts.models import User
from app.bench.models import HandFinishStandard, ReferencePhoto
from app.catalog.models import Kind
from app.common.photos import without_metadata
from app.common.transactions import on_commit
from app.common.uploads import remove_upload, sniff, store_upload
from app.domain.clock import utcnow
from app.domain.production import FINISH_GRADES
from app.extensions import db

KIND_LABELS: dict[str, str] = {Kind.CROWN.value: "Crowns", Kind.TIARA.value: "Tiaras"}
MAX_MINUTES = 100 * 60  # a standard of more than 100 hours is a typo
MAX_REFERENCE_PHOTOS = 8


class BenchError(ValueError):
    """A bench or standard action was refused; the message says why, for the person who asked."""


def require_admin(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_admin:
        raise BenchError("Only an admin can do that.")
    return user


def _known_kind(kind: str) -> str:
    if kind not in KIND_LABELS:
        raise BenchError(f"{kind!r} is not a product kind (crown or tiara).")
    return kind


def standard_for_kind(kind: str) -> HandFinishStandard | None:
    return db.session.execute(
        db.select(HandFinishStandard).where(HandFinishStandard.kind == kind)
    ).scalar_one_or_none()


def standards_by_kind() -> dict[str, HandFinishStandard | None]:
    """Every product kind with its standard (None where none is set yet)."""
    return {kind: standard_for_kind(kind) for kind in KIND_LABELS}


def grade_descriptions(standard: HandFinishStandard | None) -> dict[str, str]:
    """The finish grades as this standard words them (the shop's defaults where it is silent)."""
    words = (standard.grade_descriptions if standard else None) or {}
    return {grade: words.get(grade) or default for grade, default in FINISH_GRADES.items()}


def save_standard(
    *, kind: str, min_minutes: int, grade_descriptions: dict[str, str], by_user_id: int
) -> HandFinishStandard:
    """Create or replace a kind's standard (caller's transaction). BenchError if refused."""
    require_admin(by_user_id)
    _known_kind(kind)
    if not 0 <= min_minutes <= MAX_MINUTES:
        raise BenchError(f"The minimum bench time must be 0 to {MAX_MINUTES} minutes.")
    words = {g: (grade_descriptions.get(g) or "").strip()[:300] for g in FINISH_GRADES}
    standard = standard_for_kind(kind)
    if standard is None:
        standard = HandFinishStandard(kind=kind, min_minutes=0, grade_descriptions={})
        db.session.add(standard)
    standard.min_minutes = min_minutes
    standard.grade_descriptions = words
    standard.updated_by_id = by_user_id
    standard.updated_at = utcnow()
    db.session.flush()
    return standard


def add_reference_photo(*, kind: str, data: bytes, caption: str, by_user_id: int) -> ReferencePhoto:
    """Add an approved reference photo to a kind's standard (which must exist already)."""
    require_admin(by_user_id)
    standard = standard_for_kind(_known_kind(kind))
    if standard is None:
        raise BenchError("Save the standard's minimum time first, then add reference photos.")
    if len(standard.photos) >= MAX_REFERENCE_PHOTOS:
        raise BenchError(f"A standard keeps at most {MAX_REFERENCE_PHOTOS} reference photos.")
    sniff(data)  # an image by its content before anything is decoded again or stored
    stored = store_upload(without_metadata(data), folder="bench_reference")
    photo = ReferencePhoto(
        standard=standard,
        upload_name=stored.name,
        content_type=stored.content_type,
        caption=caption.strip()[:200],
    )
    db.session.add(photo)
    db.session.flush()
    return photo


def remove_reference_photo(*, photo_id: int, by_user_id: int) -> None:
    require_admin(by_user_id)
    photo = db.session.get(ReferencePhoto, photo_id)
    if photo is None:
        raise BenchError("No such reference photo.")
    name = photo.upload_name
    db.session.delete(photo)
    db.session.flush()
    on_commit(lambda: remove_upload(name))


def get_reference_photo(photo_id: int) -> ReferencePhoto | None:
    return db.session.get(ReferencePhoto, photo_id)
