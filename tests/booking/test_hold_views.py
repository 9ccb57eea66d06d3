"""Guests confirm their booking from the emailed link; one buyer gets at most two upcoming."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

from sqlalchemy import update

from app.booking.models import Consultation
from app.common.mail import read_outbox
from app.domain.clock import utcnow
from app.extensions import db
from tests.booking.test_views import confirm, confirm_link, post, slot_keys, valid_data
from tests.helpers import csrf_token, login, make_user


def statuses(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(db.select(Consultation.status).order_by(Consultation.id)).scalars()
        )


def lapse_all(app) -> None:
    """Move every hold's expiry into the past, as if the guest never opened the mail."""
    with app.app_context():
        db.session.execute(
            update(Consultation).values(hold_expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()


def test_the_guest_is_told_plainly_to_confirm_in_time(app, client):
    html = client.get("/consultations/new").get_data(as_text=True)
    assert "we hold the time for 30 minutes" in html
    response = post(client, valid_data(client))
    assert response.status_code == 302
    page = unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "we have emailed a link to grace@example.com. Confirm within 30 minutes" in page
    assert "If it is not confirmed by then, the time is released for others." in page
    assert "Add to calendar" not in page and "Move my consultation" not in page
    assert client.get(response.headers["Location"] + "/invite.ics").status_code == 404
    assert statuses(app) == ["pending"]


def test_opening_the_link_shows_a_button_and_only_the_post_confirms(app, client):
    post(client, valid_data(client))
    link = confirm_link(app)
    page = client.get(link)
    assert page.status_code == 200 and "Confirm my consultation" in page.get_data(as_text=True)
    assert statuses(app) == ["pending"]  # a mail scanner following the link confirms nothing
    assert client.post(link, data={}).status_code == 400  # no CSRF token
    assert statuses(app) == ["pending"]
    stranger = app.test_client()  # the link works in any browser, e.g. on the phone
    confirmed = confirm(stranger, link)
    assert (
        confirmed.status_code == 302 and "/consultations/manage/" in confirmed.headers["Location"]
    )
    assert statuses(app) == ["booked"]
    booked = [m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if "booked" in m["Subject"]]
    assert len(booked) == 1
    again = stranger.get(link).get_data(as_text=True)
    assert "This consultation is confirmed." in again


def test_forged_and_manage_tokens_do_not_confirm(app, client):
    response = post(client, valid_data(client))
    manage_token = response.headers["Location"].rsplit("/", 1)[-1]
    assert client.get("/consultations/confirm/not-a-token").status_code == 404
    assert client.get(f"/consultations/confirm/{manage_token}").status_code == 404
    token = csrf_token(client, "/consultations/new")
    assert (
        client.post(f"/consultations/confirm/{manage_token}", data={"csrf_token": token})
    ).status_code == 404
    assert statuses(app) == ["pending"]


def test_a_lapsed_hold_says_so_and_frees_the_slot(app, client):
    data = valid_data(client)
    post(client, data)
    link = confirm_link(app)
    lapse_all(app)
    page = unescape(client.get(link).get_data(as_text=True))
    assert "Your hold on this time lapsed" in page and 'href="/consultations/new"' in page
    # Someone else books the released time.
    other = app.test_client()
    assert data["slot"] in slot_keys(other.get("/consultations/new").get_data(as_text=True))
    taken = post(other, valid_data(other, email="mary@example.com", slot=data["slot"]))
    assert taken.status_code == 302
    late = confirm(client, link)
    html = unescape(late.get_data(as_text=True))
    assert late.status_code == 409
    assert "lapsed: the booking was not confirmed within 30 minutes" in html
    assert "book again" in html
    assert statuses(app) == ["lapsed", "pending"]


def test_a_lapsed_hold_takes_its_time_again_if_still_free(app, client):
    post(client, valid_data(client))
    link = confirm_link(app)
    lapse_all(app)
    assert confirm(client, link).status_code == 302
    assert statuses(app) == ["booked"]


def test_a_third_booking_from_one_browser_is_refused_with_409(app, client):
    keys = slot_keys(client.get("/consultations/new").get_data(as_text=True))
    for i in range(2):
        response = post(client, valid_data(client, email=f"guest{i}@example.com", slot=keys[i]))
        assert response.status_code == 302
    refused = post(client, valid_data(client, email="guest9@example.com", slot=keys[5]))
    html = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 409
    assert "You already have 2 upcoming consultations" in html
    assert statuses(app) == ["pending", "pending"]
    assert len(read_outbox(app.config["MAIL_OUTBOX_DIR"])) == 2


def test_a_third_booking_for_one_email_is_refused_from_any_browser(app):
    for i in range(3):
        browser = app.test_client()  # a fresh session each time: only the address is shared
        keys = slot_keys(browser.get("/consultations/new").get_data(as_text=True))
        email = "Grace@Example.com" if i else "grace+crowns@example.com"
        response = post(browser, valid_data(browser, email=email, slot=keys[i]))
        assert response.status_code == (409 if i == 2 else 302), i
    assert statuses(app) == ["pending", "pending"]


def test_a_signed_in_customer_is_capped_by_account(app, client):
    make_user(app, email="olive@example.com")
    login(client, email="olive@example.com")
    keys = slot_keys(client.get("/consultations/new").get_data(as_text=True))
    for i in range(3):
        response = post(client, valid_data(client, email=f"olive{i}@example.com", slot=keys[i]))
        assert response.status_code == (409 if i == 2 else 302), i
    assert statuses(app) == ["booked", "booked"]


def test_staff_calendar_shows_holds_and_hides_lapsed_ones(app, client):
    post(client, valid_data(client))
    make_user(app, email="maker@example.com", role="staff", name="Mira Maker")
    staff = app.test_client()
    login(staff, email="maker@example.com")
    html = staff.get("/staff/consultations").get_data(as_text=True)
    assert "Grace Hopper" in html and "Awaiting email confirmation" in html
    lapse_all(app)
    assert "Grace Hopper" not in staff.get("/staff/consultations").get_data(as_text=True)
    shown = staff.get("/staff/consultations?cancelled=1").get_data(as_text=True)
    assert "Grace Hopper" in shown and "Lapsed (never confirmed)" in shown


def test_expire_booking_holds_command(app, client, runner):
    post(client, valid_data(client))
    assert (
        "Released 0 lapsed booking hold(s)." in runner.invoke(args=["expire-booking-holds"]).output
    )
    lapse_all(app)
    result = runner.invoke(args=["expire-booking-holds"])
    assert result.exit_code == 0 and "Released 1 lapsed booking hold(s)." in result.output
    assert statuses(app) == ["lapsed"]
    reminders = runner.invoke(args=["send-reminders"])
    assert "Released 0 lapsed booking hold(s)." in reminders.output
