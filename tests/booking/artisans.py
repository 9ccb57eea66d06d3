"""Builders for artisan calendar tests: published artisans who take consultations."""

from __future__ import annotations

from app.accounts.artisans import ArtisanProfile
from app.accounts.models import Role
from app.booking import services
from app.common.transactions import atomic
from app.domain.scheduling import parse_hours
from app.extensions import db
from tests.staff.builders import make_fast_user


def make_artisan(name: str, *, hours: dict[int, str] | None = None, published: bool = True) -> int:
    """An artisan taking consultations (their own week when ``hours`` is given); their id."""
    slug = name.lower()
    user_id = make_fast_user(email=f"{slug}@diadem.test", name=name, role=Role.STAFF)
    with atomic():
        profile = ArtisanProfile(user_id=user_id, display_name=name, slug=slug, published=published)
        db.session.add(profile)
        db.session.flush()
        services.update_artisan_calendar(
            artisan_id=profile.id,
            takes_consultations=True,
            own_hours=hours is not None,
            weekly_hours={day: parse_hours(text) for day, text in (hours or {}).items()},
        )
    return profile.id
