"""Video consultations: which meeting link a consultation uses, and whether video is offered.

A consultation's link is its artisan's, else the studio default from the booking settings.
Without any link configured the booking form does not offer video, and booking refuses it; with
no studio default, a video booking only goes to an artisan who has their own link. The link is
only ever sent to the consultation's customer: in its calendar invite and in the reminder email,
never on a customer's web page.
"""

from __future__ import annotations

from app.accounts.artisans import ArtisanProfile
from app.booking.models import Consultation, ConsultationMode
from app.booking.services.calendars import bookable_artisans
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


def studio_meeting_link() -> str | None:
    return get_settings().default_meeting_link


def meeting_link_for(consultation: Consultation) -> str | None:
    """The link the consultation's customer joins by: the artisan's, else the studio default."""
    artisan = consultation.artisan
    if artisan is None and consultation.artisan_id is not None:
        # A consultation being booked has its artisan's id before the relationship is loaded.
        artisan = db.session.get(ArtisanProfile, consultation.artisan_id)
    if artisan is not None and artisan.meeting_link:
        return artisan.meeting_link
    return studio_meeting_link()


def video_artisans(artisans: list[ArtisanProfile]) -> list[ArtisanProfile]:
    """Those of ``artisans`` a video consultation can be with: all when the studio has a default
    link, else the ones with their own."""
    if studio_meeting_link():
        return artisans
    return [artisan for artisan in artisans if artisan.meeting_link]


def video_offered() -> bool:
    """Whether the booking form offers video: the studio, or an artisan who takes consultations,
    has a link."""
    return bool(studio_meeting_link()) or bool(video_artisans(bookable_artisans()))


def check_video_choice(*, mode: str, artisan_id: int | None) -> None:
    """Refuse video before a slot is claimed when nobody, or the named artisan, has a link."""
    if mode != ConsultationMode.VIDEO.value:
        return
    if not video_offered():
        raise InvalidBooking(VIDEO_UNAVAILABLE, field="mode")
    artisan = db.session.get(ArtisanProfile, artisan_id) if artisan_id is not None else None
    if artisan is not None and not video_artisans([artisan]):
        raise InvalidBooking(VIDEO_NOT_WITH_ARTISAN, field="mode")


def check_video_link(consultation: Consultation) -> None:
    """Refuse a video consultation that would have no link to join by (InvalidBooking)."""
    if consultation.mode == ConsultationMode.VIDEO.value and not meeting_link_for(consultation):
        message = VIDEO_NOT_WITH_ARTISAN if video_offered() else VIDEO_UNAVAILABLE
        raise InvalidBooking(message, field="mode")
