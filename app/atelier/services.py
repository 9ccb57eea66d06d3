"""Artisan profiles: editing them (staff) and what their public pages show.

Services never commit: views wrap each call in ``atomic()``. Who may edit whose profile is the
view's business (admins any, staff their own); these functions take ids, not the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from app.accounts.artisans import SLUG_PATTERN, ArtisanProfile, profile_of
from app.accounts.models import User
from app.atelier import images
from app.catalog.models import EditionRun, Piece, Product, ProductStatus
from app.common.transactions import atomic, on_commit
from app.common.uploads import remove_upload, store_upload
from app.domain.editions import format_piece_number
from app.domain.meeting_links import InvalidMeetingLink, clean_meeting_link
from app.extensions import db
from app.provenance.models import Passport, ProvenanceEntry
from app.qc.models import QcCheck

MAX_PORTFOLIO = 60  # pieces per list on a public page


class ProfileError(Exception):
    """The profile cannot be saved as asked; the message says why."""


class ProfileNotFound(ProfileError):
    pass


@dataclass(frozen=True)
class StaffRow:
    user: User
    profile: ArtisanProfile | None


def staff_overview() -> list[StaffRow]:
    """Every member of staff with their profile, if they have one."""
    users = db.session.execute(
        db.select(User).where(User.role.in_(("staff", "admin"))).order_by(User.name, User.id)
    ).scalars()
    profiles = {p.user_id: p for p in db.session.execute(db.select(ArtisanProfile)).scalars()}
    return [StaffRow(user=u, profile=profiles.get(u.id)) for u in users]


def staff_member(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_staff:
        raise ProfileNotFound("No member of staff has that id.")
    return user


def suggested_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:80]


@dataclass(frozen=True)
class ProfileInput:
    display_name: str
    slug: str
    bio: str = ""
    specialities: str = ""
    published: bool = False
    portrait: bytes | None = None
    signature: bytes | None = None
    remove_portrait: bool = False
    remove_signature: bool = False
    meeting_link: str | None = None


def save_profile(*, user_id: int, data: ProfileInput) -> ArtisanProfile:
    """Create or update a staff member's profile, storing new pictures (checked and cleaned)."""
    staff_member(user_id)
    name = data.display_name.strip()
    slug = data.slug.strip().casefold() or suggested_slug(name)
    if not name:
        raise ProfileError("Give the name customers will see.")
    if not re.fullmatch(SLUG_PATTERN, slug) or len(slug) > 80:
        raise ProfileError("The address may use lower-case letters, digits and single hyphens.")
    try:
        meeting_link = clean_meeting_link(data.meeting_link)
    except InvalidMeetingLink as exc:
        raise ProfileError(str(exc)) from exc
    taken = db.session.execute(
        db.select(ArtisanProfile.user_id).where(ArtisanProfile.slug == slug)
    ).scalar_one_or_none()
    if taken is not None and taken != user_id:
        raise ProfileError(f"Another profile already uses the address /atelier/{slug}.")
    # Check both pictures before storing either, so a bad signature leaves no orphan portrait.
    portrait = images.clean_portrait(data.portrait) if data.portrait else None
    signature = images.clean_signature(data.signature) if data.signature else None
    profile = profile_of(user_id) or ArtisanProfile(user_id=user_id)
    profile.display_name = name[:120]
    profile.slug = slug
    profile.bio = data.bio.strip()[:2000]
    profile.specialities = ", ".join(s.strip() for s in data.specialities.split(",") if s.strip())[
        :300
    ]
    profile.published = data.published
    profile.meeting_link = meeting_link
    profile.portrait_key = _replace(
        profile.portrait_key, portrait, remove=data.remove_portrait, folder="artisans"
    )
    profile.signature_key = _replace(
        profile.signature_key, signature, remove=data.remove_signature, folder="signatures"
    )
    try:
        with atomic():
            db.session.add(profile)
            db.session.flush()
    except IntegrityError as exc:
        raise ProfileError(f"Another profile already uses the address /atelier/{slug}.") from exc
    return profile


def _replace(old: str | None, new: bytes | None, *, remove: bool, folder: str) -> str | None:
    """The picture's key after the edit; the old file is deleted once the change commits."""
    if new is None and not remove:
        return old
    if old:
        on_commit(lambda: remove_upload(old))
    if new is None:
        return None
    return store_upload(new, folder=folder).name


def published_profiles() -> list[ArtisanProfile]:
    return list(
        db.session.execute(
            db.select(ArtisanProfile)
            .where(ArtisanProfile.published.is_(True))
            .order_by(ArtisanProfile.display_name)
        ).scalars()
    )


def picture(profile: ArtisanProfile, which: str) -> str:
    """The storage key of a published profile's portrait or signature; ProfileNotFound if none."""
    key = profile.portrait_key if which == "portrait" else profile.signature_key
    if not key:
        raise ProfileNotFound("No such picture.")
    return key


# --- the public page ------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    product: str
    product_slug: str | None  # None: the product page is not public
    label: str  # "07/25", "a commission"
    batch_code: str | None  # a batch page to link, for edition pieces


@dataclass
class Portfolio:
    made: list[WorkItem] = field(default_factory=list)
    checked: list[WorkItem] = field(default_factory=list)
    batches: list[tuple[str, str]] = field(default_factory=list)  # (batch code, product name)


def portfolio(user_id: int) -> Portfolio:
    """Pieces this person made or checked, and their batches; nothing about who bought them."""
    made: dict[int, str] = {}  # passport id -> role
    checks = db.session.execute(
        db.select(QcCheck.passport_id, QcCheck.artisan_id)
        .where(
            (QcCheck.artisan_id == user_id) | (QcCheck.checker_id == user_id),
            QcCheck.passport_id.is_not(None),
        )
        .order_by(QcCheck.id.desc())
        .limit(MAX_PORTFOLIO * 4)
    )
    for passport_id, artisan_id in checks:
        role = "made" if artisan_id == user_id else "checked"
        if made.get(passport_id) != "made":
            made[passport_id] = role
    steps = db.session.execute(
        db.select(ProvenanceEntry.passport_id, ProvenanceEntry.details)
        .where(ProvenanceEntry.kind.in_(("step", "repair")))
        .order_by(ProvenanceEntry.id.desc())
        .limit(2000)
    )
    for passport_id, details in steps:
        if (details or {}).get("actor_id") == user_id:
            made[passport_id] = "made"
    result = Portfolio()
    batches: dict[str, str] = {}
    for passport in _passports(list(made)):
        item = _work_item(passport)
        if item is None:
            continue
        target = result.made if made[passport.id] == "made" else result.checked
        if len(target) < MAX_PORTFOLIO:
            target.append(item)
        if item.batch_code and item.product_slug:
            batches.setdefault(item.batch_code, item.product)
    result.batches = sorted(batches.items())
    return result


def _passports(ids: list[int]) -> list[Passport]:
    if not ids:
        return []
    return list(
        db.session.execute(
            db.select(Passport).where(Passport.id.in_(ids)).order_by(Passport.id.desc())
        ).scalars()
    )


def _public_slug(product: Product) -> str | None:
    return product.slug if product.status != ProductStatus.DRAFT.value else None


def _work_item(passport: Passport) -> WorkItem | None:
    if passport.piece_id is not None:
        piece: Piece = passport.piece
        run: EditionRun = piece.run
        return WorkItem(
            product=run.product.name,
            product_slug=_public_slug(run.product),
            label=format_piece_number(piece.number, piece.edition_size),
            batch_code=run.batch_code,
        )
    if passport.run_id is not None:
        run = passport.run
        return WorkItem(
            product=run.product.name,
            product_slug=_public_slug(run.product),
            label=f"edition of {run.size}",
            batch_code=run.batch_code,
        )
    line = passport.order_line
    if line is None:
        return None
    # A commission: the design's name only; the buyer and the order stay private.
    return WorkItem(
        product=line.product_name,
        product_slug=_public_slug(line.product),
        label="a commission",
        batch_code=None,
    )
