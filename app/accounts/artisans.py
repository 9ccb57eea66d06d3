"""Artisan profiles: the public face of a staff member who makes or checks pieces.

Customers see who did the work only through a published profile: its display name, linked to
``/atelier/<slug>``. A staff member without one (or with an unpublished one) is "the atelier"
on every public page, never their login, email or account name. This module sits beneath
provenance, QC and production so each of them can credit people the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.clock import utcnow
from app.extensions import db

THE_ATELIER = "the atelier"
SLUG_PATTERN = r"[a-z0-9]+(-[a-z0-9]+)*"


class ArtisanProfile(db.Model):
    __tablename__ = "artisan_profiles"
    __table_args__ = (
        CheckConstraint("length(display_name) > 0", name="display_name_given"),
        CheckConstraint("length(slug) > 0", name="slug_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    # Comma-separated as typed ("hand-chasing, stone setting"); see ``speciality_list``.
    specialities: Mapped[str] = mapped_column(String(300), default="")
    # Upload keys (app.common.uploads): a JPEG/PNG portrait, a transparent PNG signature.
    portrait_key: Mapped[str | None] = mapped_column(String(200))
    signature_key: Mapped[str | None] = mapped_column(String(200))
    published: Mapped[bool] = mapped_column(default=False)
    # This artisan's video consultation room (an https link, app.domain.meeting_links); only
    # ever sent to the customer of a consultation with them, never shown on a public page.
    meeting_link: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user = relationship("User")

    @property
    def speciality_list(self) -> list[str]:
        return [s.strip() for s in self.specialities.split(",") if s.strip()]


@dataclass(frozen=True)
class PublicArtisan:
    """What a public page may say about someone: a published profile's name and slug."""

    user_id: int
    name: str
    slug: str
    has_signature: bool


def published_artisans(user_ids: Iterable[int | None]) -> dict[int, PublicArtisan]:
    """The published profiles of these users, by user id (others are simply absent)."""
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    rows = db.session.execute(
        db.select(ArtisanProfile).where(
            ArtisanProfile.user_id.in_(ids), ArtisanProfile.published.is_(True)
        )
    ).scalars()
    return {
        p.user_id: PublicArtisan(
            user_id=p.user_id,
            name=p.display_name,
            slug=p.slug,
            has_signature=p.signature_key is not None,
        )
        for p in rows
    }


def public_artisan(user_id: int | None) -> PublicArtisan | None:
    """The published profile of one user, or None (then say "the atelier")."""
    return published_artisans([user_id]).get(user_id or 0)


def public_name(user_id: int | None) -> str:
    """The name a public page prints for this user: the profile's, or "the atelier"."""
    artisan = public_artisan(user_id)
    return artisan.name if artisan else THE_ATELIER


def published_profile_by_slug(slug: str) -> ArtisanProfile | None:
    return db.session.execute(
        db.select(ArtisanProfile).where(
            ArtisanProfile.slug == slug, ArtisanProfile.published.is_(True)
        )
    ).scalar_one_or_none()


def profile_of(user_id: int) -> ArtisanProfile | None:
    return db.session.execute(
        db.select(ArtisanProfile).where(ArtisanProfile.user_id == user_id)
    ).scalar_one_or_none()
