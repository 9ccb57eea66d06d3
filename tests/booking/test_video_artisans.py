"""Video with per-artisan calendars: "any artisan" only goes to someone with a link to join by,
the times offered follow the same rule, and only artisans who take consultations offer video."""

from __future__ import annotations

from datetime import datetime
from html import unescape

import pytest

from app.accounts.artisans import ArtisanProfile
from app.booking import services
from app.booking.cli import send_reminders
from app.booking.models import Consultation
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.domain.scheduling import slot_key
from app.extensions import db
from tests.booking.artisans import make_artisan
from tests.booking.builders import NOW, TUESDAY_10, TUESDAY_1115, book
from tests.booking.test_meetings import (
    ARTISAN_LINK,
    STUDIO_LINK,
    ics_event,
    mails,
    set_studio_link,
)
from tests.booking.test_views import form_page, post, valid_data
from tests.helpers import login, make_user


def give_link(artisan_id: int, link: str | None = ARTISAN_LINK) -> None:
    with atomic():
        db.session.get_one(ArtisanProfile, artisan_id).meeting_link = link


@pytest.fixture
def ana_and_bea(studio):
    """Ana (first in "any artisan" order) has no link; Bea has one; no studio default."""
    ana, bea = make_artisan("Ana"), make_artisan("Bea")
    give_link(bea)
    return ana, bea


def test_any_artisan_by_video_goes_to_the_artisan_with_a_link(ana_and_bea):
    ana, bea = ana_and_bea
    assert book(mode="video").artisan_id == bea
    assert book(TUESDAY_10, email="b@example.com").artisan_id == ana  # the studio: first free


def test_with_a_studio_default_any_artisan_by_video_takes_the_first_free(ana_and_bea):
    ana, _ = ana_and_bea
    set_studio_link(STUDIO_LINK)
    assert book(mode="video").artisan_id == ana


def test_the_times_offered_for_video_are_the_linked_artisans(ana_and_bea):
    _, bea = ana_and_bea
    book(artisan_id=bea)  # Bea is busy at 10:00; Ana is free but has no link
    studio_starts = {s.starts_at for s in services.available_slots(now=NOW)}
    video_starts = {s.starts_at for s in services.available_slots(now=NOW, video=True)}
    assert TUESDAY_10 in studio_starts and TUESDAY_10 not in video_starts
    assert video_starts < studio_starts
    with pytest.raises(services.SlotTaken):
        book(mode="video", email="b@example.com")  # booking agrees: no linked artisan is free
    set_studio_link(STUDIO_LINK)
    assert TUESDAY_10 in {s.starts_at for s in services.available_slots(now=NOW, video=True)}


def test_a_named_artisan_without_a_link_is_refused_video_before_any_slot(ana_and_bea):
    ana, _ = ana_and_bea
    with pytest.raises(services.InvalidBooking) as exc:
        book(mode="video", artisan_id=ana)
    assert exc.value.field == "mode" and str(exc.value) == services.VIDEO_NOT_WITH_ARTISAN


def test_video_is_offered_only_by_artisans_who_take_consultations(studio):
    bea = make_artisan("Bea")
    give_link(bea)
    assert services.video_offered()
    with atomic():
        services.update_artisan_calendar(
            artisan_id=bea, takes_consultations=False, own_hours=False, weekly_hours={}
        )
    assert not services.video_offered()  # published, with a link, but nobody can book her
    with pytest.raises(services.InvalidBooking) as exc:
        book(mode="video")
    assert str(exc.value) == services.VIDEO_UNAVAILABLE


def test_the_form_marks_an_artisan_without_video_and_refuses_a_forged_post(app, client):
    with app.app_context():
        ana, bea = make_artisan("Ana"), make_artisan("Bea")
        give_link(bea)
    html, _ = form_page(client)
    assert ">Ana (in the studio only)</option>" in html and ">Bea</option>" in html
    response = post(client, valid_data(client, mode="video", artisan=str(ana)))
    assert response.status_code == 400
    assert services.VIDEO_NOT_WITH_ARTISAN in unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.execute(db.select(Consultation.id)).first() is None


def test_the_reminder_carries_the_latest_invite(studio):
    set_studio_link(STUDIO_LINK)
    consultation = book(mode="video")
    with atomic():
        services.reschedule_consultation(
            consultation_id=consultation.id, starts_at=TUESDAY_1115, now=NOW
        )
    moved = ics_event(mails(studio)[-1])
    assert send_reminders(now=datetime(2027, 3, 1, 18, 0)) == 1
    reminder = ics_event(mails(studio)[-1])
    assert str(reminder["uid"]) == str(moved["uid"]) and reminder["sequence"] == 1
    assert str(reminder["url"]) == STUDIO_LINK


def test_staff_see_the_meeting_link_on_the_consultation(app, client):
    with app.app_context():
        bea = make_artisan("Bea")
        give_link(bea)
        consultation_id = book(TUESDAY_10, mode="video", now=NOW).id
    make_user(app, email="owner@example.com", role="admin", name="Ada Owner")
    login(client, email="owner@example.com")
    page = client.get(f"/staff/consultations/{consultation_id}").get_data(as_text=True)
    assert f'<a href="{ARTISAN_LINK}" rel="noopener noreferrer" data-meeting-link>' in page


def test_a_post_without_the_artisan_field_books_any_artisan(app, client):
    with app.app_context():
        ana = make_artisan("Ana")
    response = post(client, valid_data(client))  # no "artisan" in the form data
    assert response.status_code == 302, unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.execute(db.select(Consultation.artisan_id)).scalar_one() == ana


def test_staff_move_times_for_a_video_booking_follow_the_video_rule(app, client):
    """Staff's "any artisan" times for a video booking leave out times only a link-less artisan
    has free: moving there would be refused ("slot taken")."""
    with app.app_context():
        make_artisan("Ana")  # first in "any artisan" order, no link
        bea = make_artisan("Bea")
        give_link(bea)
        now = utcnow()
        first, second = (s.starts_at for s in services.available_slots(now=now, video=True)[:2])
        consultation_id = book(first, now=now, mode="video").id
        book(second, now=now, email="b@example.com", artisan_id=bea)  # only Ana is free then
        assert second in {s.starts_at for s in services.available_slots(now=now)}
    make_user(app, email="owner@example.com", role="admin", name="Ada Owner")
    login(client, email="owner@example.com")
    page = client.get(f"/staff/consultations/{consultation_id}?artisan=").get_data(as_text=True)
    assert "Move this booking" in page
    assert f'value="{slot_key(second)}"' not in page
