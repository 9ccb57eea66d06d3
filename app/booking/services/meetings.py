"""Video consultations: which meeting link a consultation uses, and whether video is offered.

A consultation's link is its artisan's, else the studio default from the booking settings.
Without any link configured the booking form does not offer video, and booking refuses it.
The link is only ever sent to the consultation's customer: in its calendar invite and in the
reminder email, never on a web page.
"""

from __future__ import annotations

from sqlalchemy import exists

from app.accounts.artisans import ArtisanProfile, profile_of
from app.accounts.models import User
from app.booking.models import Consultation, ConsultationMode
from app.booking.services.errors import InvalidBooking
from app.booking.services.settings import get_settings
from app.extensions import db

VIDEO_UNAVAILABLE = (
    "Video consultations are not available at the moment: please choose the studio, "
    "or write to the atelier."
)
VIDEO_NOT_WITH_ARTISAN = (
    "This artisan does not take video consultations: please choose the studio or another artisan."
)


def _artisan_link(artisan: object) -> str | None:
    """The meeting link of a consultation's artisan (a profile, or the staff member's user)."""
    if isinstance(artisan, ArtisanProfile):
        return artisan.meeting_link
    if isinstance(artisan, User):
        profile = profile_of(artisan.id)
        return profile.meeting_link if profile is not None else None
    return None


def studio_meeting_link() -> str | None:
    return get_settings().default_meeting_link


def _artisan_of(consultation: Consultation) -> object | None:
    artisan = getattr(consultation, "artisan", None)
    artisan_id = getattr(consultation, "artisan_id", None)
    if artisan is None and artisan_id is not None:
        # A consultation being booked has its artisan's id before the relationship is loaded.
        artisan = db.session.get(ArtisanProfile, artisan_id)
    return artisan


def meeting_link_for(consultation: Consultation) -> str | None:
    """The link the consultation's customer joins by: the artisan's, else the studio default."""
    artisan = _artisan_of(consultation)
    if artisan is not None and (link := _artisan_link(artisan)):
        return link
    return studio_meeting_link()


def video_offered() -> bool:
    """Whether the booking form offers video: the studio or a published artisan has a link."""
    if studio_meeting_link():
        return True
    return bool(
        db.session.execute(
            db.select(
                exists().where(
                    ArtisanProfile.published.is_(True), ArtisanProfile.meeting_link.is_not(None)
                )
            )
        ).scalar()
    )


def check_video_link(consultation: Consultation) -> None:
    """Refuse a video consultation that would have no link to join by (InvalidBooking)."""
    if consultation.mode == ConsultationMode.VIDEO.value and not meeting_link_for(consultation):
        message = VIDEO_NOT_WITH_ARTISAN if video_offered() else VIDEO_UNAVAILABLE
        raise InvalidBooking(message, field="mode")
