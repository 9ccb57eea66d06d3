"""The booking form with a named artisan, the artisan shown to the customer, and staff pages
for moving a booking and keeping an artisan's calendar."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.booking import services
from app.booking.models import Consultation
from app.common.mail import read_outbox
from app.domain.clock import utcnow
from app.extensions import db
from tests.booking.artisans import make_artisan
from tests.booking.test_views import far_event, slot_keys, valid_data
from tests.helpers import csrf_token, login, make_user

EVERY_WEEKDAY_AFTERNOON = {day: "12:30-17:00" for day in range(7)}


@pytest.fixture
def artisans(app):
    with app.app_context():
        mira = make_artisan("Mira", hours=EVERY_WEEKDAY_AFTERNOON)
        noor = make_artisan("Noor")
    return mira, noor


def free_keys(app, artisan_id) -> set[str]:
    with app.app_context():
        return {s.key for s in services.available_slots(now=utcnow(), artisan_id=artisan_id)}


def test_the_form_offers_any_artisan_or_a_named_one_with_only_their_times(app, client, artisans):
    mira, noor = artisans
    html = client.get("/consultations/new").get_data(as_text=True)
    assert "Any artisan (the first free)" in html and ">Mira<" in html and ">Noor<" in html
    assert set(slot_keys(html)) == free_keys(app, None)
    # No script needed: "Show their times" posts the form back with the artisan chosen.
    data = valid_data(client, artisan=str(mira), check="1", submit=None)
    html = client.post("/consultations/new", data=data).get_data(as_text=True)
    assert set(slot_keys(html)) == free_keys(app, mira) != free_keys(app, noor)
    assert "Pick a time with Mira" in html
    html = client.get(f"/consultations/new?artisan={noor}").get_data(as_text=True)
    assert set(slot_keys(html)) == free_keys(app, noor)


def test_a_guest_books_a_named_artisan_and_sees_their_public_name(app, client, artisans):
    mira, _ = artisans
    [mira_key, *_] = sorted(free_keys(app, mira))
    data = valid_data(client, artisan=str(mira), slot=mira_key, event_date=far_event())
    response = client.post("/consultations/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert '<dt>With</dt><dd><a href="/atelier/mira">Mira</a></dd>' in page
    with app.app_context():
        assert db.session.execute(db.select(Consultation.artisan_id)).scalar_one() == mira
    [hold] = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert "With: Mira (http://diadem.test/atelier/mira)" in hold.get_body(("plain",)).get_content()


def test_a_slot_only_another_artisan_has_is_refused_for_the_named_one(app, client, artisans):
    mira, noor = artisans
    only_noor = sorted(free_keys(app, noor) - free_keys(app, mira))[0]
    response = client.post(
        "/consultations/new", data=valid_data(client, artisan=str(mira), slot=only_noor)
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.execute(db.select(Consultation.id)).first() is None


@pytest.fixture
def admin(app, client):
    make_user(app, email="owner@example.com", role="admin", name="Ada Owner")
    login(client, email="owner@example.com")
    return client


def test_staff_move_a_booking_to_another_artisan(app, client, artisans):
    mira, noor = artisans
    shared = sorted(free_keys(app, mira) & free_keys(app, noor))
    response = client.post(
        "/consultations/new", data=valid_data(client, artisan=str(mira), slot=shared[0])
    )
    assert response.status_code == 302
    with app.app_context():
        consultation = db.session.execute(db.select(Consultation)).scalar_one()
        consultation.status = "booked"
        consultation.hold_expires_at = None
        db.session.commit()
        consultation_id = consultation.id
    make_user(app, email="owner@example.com", role="admin", name="Ada Owner")
    login(client, email="owner@example.com")
    path = f"/staff/consultations/{consultation_id}"
    page = client.get(f"{path}?artisan={noor}").get_data(as_text=True)
    assert "Move this booking" in page and shared[0] in page  # Noor is free then
    token = csrf_token(client, path)
    refused = client.post(f"{path}/move", data={"csrf_token": token, "artisan": str(noor)})
    assert refused.status_code == 400
    moved = client.post(
        f"{path}/move", data={"csrf_token": token, "artisan": str(noor), "slot": shared[0]}
    )
    assert moved.status_code == 302
    assert "with Noor" in unescape(client.get(path).get_data(as_text=True))
    assert "· with Noor" in client.get("/staff/consultations").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Consultation, consultation_id).artisan_id == noor
    assert "has moved" in read_outbox(app.config["MAIL_OUTBOX_DIR"])[-1]["Subject"]


def test_admin_sets_an_artisans_week_and_day_off(app, admin, artisans):
    _, noor = artisans
    path = f"/staff/consultations/artisans/{noor}"
    settings = admin.get("/staff/consultations/settings").get_data(as_text=True)
    assert f'href="{path}"' in settings
    token = csrf_token(admin, path)
    week = {f"hours_{d}": "" for d in range(7)} | {"hours_2": "10:00-12:00"}
    saved = admin.post(
        path, data={"csrf_token": token, "takes_consultations": "y", "own_hours": "y", **week}
    )
    assert saved.status_code == 302
    with app.app_context():
        slots = services.available_slots(now=utcnow(), artisan_id=noor)
        assert {s.local_start.weekday() for s in slots} == {2}
    bad = admin.post(path, data={"csrf_token": token, "own_hours": "y", "hours_0": "noon"})
    assert bad.status_code == 400 and "Write hours as 10:00-17:00" in bad.get_data(as_text=True)
    with app.app_context():  # the bad form changed nothing
        assert [a.id for a in services.bookable_artisans()] == list(artisans)
    day_off = admin.post(
        f"{path}/exceptions", data={"csrf_token": token, "first_day": "2030-01-02"}
    )
    assert day_off.status_code == 302
    assert "Day off" in admin.get(path).get_data(as_text=True)


def test_plain_staff_cannot_change_an_artisans_calendar(app, client, artisans):
    _, noor = artisans
    make_user(app, email="maker@example.com", role="staff", name="Maker")
    login(client, email="maker@example.com")
    path = f"/staff/consultations/artisans/{noor}"
    assert client.get(path).status_code == 200
    token = csrf_token(client, path)
    assert client.post(path, data={"csrf_token": token}).status_code == 403
    assert client.post(f"{path}/exceptions", data={"csrf_token": token}).status_code == 403
    assert client.get("/staff/consultations/artisans/999").status_code == 404


def test_without_bookable_artisans_the_form_has_no_artisan_choice(app, client):
    html = client.get("/consultations/new").get_data(as_text=True)
    assert slot_keys(html) and not re.search(r'<select[^>]*name="artisan"', html)
