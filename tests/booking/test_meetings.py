"""Video consultations: the meeting link comes from the artisan or the studio, goes only to the
customer (invite and reminder), and without one video is not offered."""

from __future__ import annotations

from datetime import datetime
from html import unescape

import icalendar
import pytest

from app.accounts.artisans import ArtisanProfile
from app.accounts.models import Role
from app.booking import services
from app.booking.cli import send_reminders
from app.booking.models import Consultation
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.extensions import db
from tests.booking.builders import book
from tests.booking.test_views import form_page, post, valid_data
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, make_fast_user

STUDIO_LINK = "https://meet.example.com/diadem-studio"
ARTISAN_LINK = "https://meet.example.com/mira"
NO_LINK_WORDS = "we email you the link to join the day before; it is also in your calendar invite"


def set_studio_link(link: str | None) -> None:
    with atomic():
        services.get_settings().default_meeting_link = link


def mails(app):
    return read_outbox(app.config["MAIL_OUTBOX_DIR"])


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def ics_event(message) -> icalendar.Event:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]


def artisan_profile(link: str | None) -> ArtisanProfile:
    user_id = make_fast_user(email="mira@example.org", name="Mira", role=Role.STAFF)
    profile = ArtisanProfile(user_id=user_id, display_name="Mira", slug="mira", meeting_link=link)
    with atomic():
        db.session.add(profile)
    return profile


# --- which link -------------------------------------------------------------------------------


def test_without_any_link_video_is_neither_offered_nor_booked(studio):
    assert services.meeting_link_for(Consultation(mode="video")) is None
    assert not services.video_offered()
    with pytest.raises(services.InvalidBooking) as exc:
        book(mode="video")
    assert exc.value.field == "mode" and str(exc.value) == services.VIDEO_UNAVAILABLE
    assert db.session.execute(db.select(Consultation.id)).first() is None
    assert mails(studio) == []


def test_the_artisans_link_wins_over_the_studio_default(studio):
    set_studio_link(STUDIO_LINK)
    assert services.video_offered()
    with_link, without = artisan_profile(ARTISAN_LINK), None
    consultation = Consultation(mode="video")
    consultation.artisan = with_link
    assert services.meeting_link_for(consultation) == ARTISAN_LINK
    consultation.artisan = without
    assert services.meeting_link_for(consultation) == STUDIO_LINK
    with_link.meeting_link = None
    consultation.artisan = with_link
    assert services.meeting_link_for(consultation) == STUDIO_LINK


def test_an_unpublished_artisans_link_does_not_offer_video(studio):
    profile = artisan_profile(ARTISAN_LINK)
    assert not services.video_offered()  # nobody could book that artisan
    with atomic():
        profile.published = True
    assert not services.video_offered()  # published, but not taking consultations
    with atomic():
        services.update_artisan_calendar(
            artisan_id=profile.id, takes_consultations=True, own_hours=False, weekly_hours={}
        )
    assert services.video_offered()


# --- where it goes ----------------------------------------------------------------------------


def test_the_invite_carries_the_link_and_the_reminder_emails_it(studio):
    set_studio_link(STUDIO_LINK)
    consultation = book(mode="video")
    confirmation = mails(studio)[-1]
    assert "is booked" in confirmation["Subject"]
    assert NO_LINK_WORDS in text_of(confirmation)
    assert NO_LINK_WORDS in html_of(confirmation)
    event = ics_event(confirmation)
    assert str(event["url"]) == STUDIO_LINK and str(event["location"]) == STUDIO_LINK
    assert "/consultations/manage/" in str(event["description"])  # still the way to change it

    assert send_reminders(now=datetime(2027, 3, 1, 18, 0)) == 1
    reminder = mails(studio)[-1]
    assert consultation.reference in reminder["Subject"] and "Reminder" in reminder["Subject"]
    assert f"By video: join at {STUDIO_LINK}" in text_of(reminder)
    assert f'<a href="{STUDIO_LINK}">{STUDIO_LINK}</a>' in html_of(reminder)


def test_a_studio_consultation_keeps_the_address_and_no_link(studio):
    set_studio_link(STUDIO_LINK)
    book()
    event = ics_event(mails(studio)[-1])
    assert "Hatton Garden" in str(event["location"]) and "/consultations/manage/" in str(
        event["url"]
    )
    assert send_reminders(now=datetime(2027, 3, 1, 18, 0)) == 1
    assert STUDIO_LINK not in text_of(mails(studio)[-1])


# --- the booking form -------------------------------------------------------------------------


def test_the_form_offers_video_only_with_a_link_and_refuses_a_forged_one(app, client):
    html, _ = form_page(client)
    assert 'value="video"' not in html and "By video" not in html
    response = post(client, valid_data(client, mode="video"))
    assert response.status_code == 400
    assert services.VIDEO_UNAVAILABLE in unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.execute(db.select(Consultation.id)).first() is None
        set_studio_link(STUDIO_LINK)
    html, _ = form_page(client)
    assert 'value="video"' in html and "By video" in html


def test_the_link_stays_off_the_pages_and_away_from_other_customers(app, client):
    with app.app_context():
        set_studio_link(STUDIO_LINK)
        make_fast_user(email="ada@example.com", name="Ada")
        make_fast_user(email="eve@example.com", name="Eve")
    login(client, "ada@example.com", PASSWORD)
    response = post(client, valid_data(client, mode="video"))
    assert response.status_code == 302, unescape(response.get_data(as_text=True))
    page = unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "By video: " + NO_LINK_WORDS in page and STUDIO_LINK not in page
    with app.app_context():
        consultation_id = db.session.execute(db.select(Consultation.id)).scalar_one()
    invite = client.get(f"/consultations/{consultation_id}/invite.ics")
    assert invite.status_code == 200 and STUDIO_LINK in invite.get_data(as_text=True)
    other = app.test_client()
    login(other, "eve@example.com", PASSWORD)
    assert other.get(f"/consultations/{consultation_id}/invite.ics").status_code == 404
    assert STUDIO_LINK not in other.get("/consultations/new").get_data(as_text=True)


# --- staff set the studio default -------------------------------------------------------------


@pytest.fixture
def admin(app, client):
    with app.app_context():
        make_fast_user(email="boss@example.com", name="Boss", role=Role.ADMIN)
    login(client, "boss@example.com", PASSWORD)
    return client


def _settings_data(client, link: str) -> dict[str, str]:
    settings = {name: str(v) for name, v in _current_settings(client.application).items()}
    return {
        "csrf_token": csrf_token(client, "/staff/consultations/settings"),
        **settings,
        "default_meeting_link": link,
        "hours_0": "",
        **{f"hours_{d}": "10:00-17:00" for d in range(1, 6)},
        "hours_6": "",
    }


def _current_settings(app) -> dict[str, int]:
    with app.app_context():
        row = services.get_settings()
        return {n: getattr(row, n) for n in services.SETTINGS_FIELDS if n != "default_meeting_link"}


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "http://meet.example.com/diadem"])
def test_staff_set_the_studio_link_as_https_only(app, admin, bad):
    response = admin.post("/staff/consultations/settings", data=_settings_data(admin, bad))
    assert response.status_code == 400
    assert "Give the meeting link as a full https:// address" in unescape(
        response.get_data(as_text=True)
    )
    with app.app_context():
        assert services.get_settings().default_meeting_link is None
    response = admin.post("/staff/consultations/settings", data=_settings_data(admin, STUDIO_LINK))
    assert response.status_code == 302
    with app.app_context():
        assert services.get_settings().default_meeting_link == STUDIO_LINK
    page = admin.get("/staff/consultations/settings").get_data(as_text=True)
    assert f'value="{STUDIO_LINK}"' in page
    admin.post("/staff/consultations/settings", data=_settings_data(admin, "  "))
    with app.app_context():
        assert services.get_settings().default_meeting_link is None  # blank clears it


def test_the_settings_service_refuses_a_link_that_is_not_https(studio):
    changes = services.SettingsUpdate(
        **_current_settings(studio),
        weekly_hours=services.weekly_hours(),
        default_meeting_link="javascript:alert(1)",
    )
    with pytest.raises(services.BookingError) as exc, atomic():
        services.update_settings(changes=changes)
    assert exc.value.field == "default_meeting_link"
