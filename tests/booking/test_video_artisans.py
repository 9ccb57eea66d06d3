"""Video with per-artisan calendars: "any artisan" only goes to someone with a link to join by,
the times offered follow the same rule, and only artisans who take consultations offer video."""

from __future__ import annotations

from html import unescape

import pytest

from app.accounts.artisans import ArtisanProfile
from app.booking import services
from app.booking.models import Consultation
from app.common.transactions import atomic
from app.extensions import db
from tests.booking.artisans import make_artisan
from tests.booking.builders import NOW, TUESDAY_10, book
from tests.booking.test_meetings import ARTISAN_LINK, STUDIO_LINK, set_studio_link
from tests.booking.test_views import form_page, post, valid_data


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
