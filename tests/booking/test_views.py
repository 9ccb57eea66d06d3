from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html import unescape

import icalendar
import pytest

from app.booking import services
from app.booking.models import Consultation
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.domain.scheduling import local_date, parse_hours, parse_slot_key
from app.extensions import db
from tests.booking.builders import make_request
from tests.helpers import csrf_token, login, make_user

SLOT_RE = re.compile(r'name="slot" value="([^"]+)"')
NASTY = '<script>alert("x")</script><b>bold</b>'


def slot_keys(html: str) -> list[str]:
    return SLOT_RE.findall(html)


def form_page(client, path="/consultations/new"):
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return html, slot_keys(html)


def far_event() -> str:
    return (date.today() + timedelta(days=300)).isoformat()


def valid_data(client, **overrides) -> dict[str, str]:
    html, keys = form_page(client)
    data = {
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1),
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "event_kind": "gala",
        "event_date": far_event(),
        "circumference": "56.5",
        "circumference_unit": "cm",
        "hairstyle": "updo",
        "veil": "no-veil",
        "metal": "",
        "stone_preferences": "Pearls",
        "allergies": "Nickel",
        "budget": "2k-5k",
        "notes": "",
        "mode": "studio",  # video needs a meeting link (tests/booking/test_meetings.py)
        "slot": keys[0],
        "tz": "America/New_York",
        "submit": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def real_request(starts_at: datetime, **overrides):
    """A booking request for real-time tests: the event well after any offered slot."""
    return make_request(starts_at, event_date=date.today() + timedelta(days=300), **overrides)


def post(client, data):
    return client.post("/consultations/new", data=data)


CONFIRM_RE = re.compile(r"https?://[^/\s]+(/consultations/confirm/[^\s\"<]+)")


def confirm_link(app, to: str = "grace@example.com") -> str:
    """The path of the confirm link in the last hold mail to ``to``."""
    holds = [
        m
        for m in read_outbox(app.config["MAIL_OUTBOX_DIR"])
        if m["To"] == to and "Confirm" in m["Subject"]
    ]
    return CONFIRM_RE.search(holds[-1].get_body(("plain",)).get_content()).group(1)


def confirm(client, path: str):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


@pytest.fixture
def guest(app):
    """A visitor who is signed in nowhere (``client`` may be signed in by another fixture)."""
    return app.test_client()


@pytest.fixture
def held_guest(app, guest):
    """A guest booking made through the form, not confirmed yet: (response, consultation id)."""
    response = post(guest, valid_data(guest, notes=NASTY))
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        consultation_id = db.session.execute(db.select(Consultation.id)).scalar_one()
    return response, consultation_id


@pytest.fixture
def booked_guest(app, guest, held_guest):
    """A guest booking made through the form and confirmed by the emailed link."""
    confirmed = confirm(guest, confirm_link(app))
    assert confirmed.status_code == 302, confirmed.get_data(as_text=True)
    assert "/consultations/manage/" in confirmed.headers["Location"]
    return held_guest


def test_form_offers_real_slots_in_studio_time(app, client):
    html, keys = form_page(client)
    assert "Times are studio time (Europe/London)" in html
    assert len(keys) > 20
    assert "Try-on snapshot" not in html  # guests cannot attach snapshots
    assert 'href="/fit-guide"' in html
    assert 'src="/static/js/booking.js"' in html
    first = parse_slot_key(keys[0])
    assert first >= utcnow() + timedelta(hours=24)  # minimum notice
    # booking.js only enhances; CSP forbids inline scripts and the form posts without them.
    assert "<script>" not in html and "onclick" not in html


def test_anonymous_visitors_get_nothing_private(client):
    response = client.get("/consultations")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert client.get("/consultations/1").status_code == 302
    assert client.get("/consultations/new?snapshot=1").status_code == 404
    assert client.get("/consultations/manage/eyJjIjoxfQ.abc.def").status_code == 404
    for path in ("/staff/consultations", "/staff/consultations/settings"):
        response = client.get(path)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_guest_books_and_sees_the_confirmation(app, guest, booked_guest):
    response, consultation_id = booked_guest
    assert "/consultations/manage/" in response.headers["Location"]
    page = guest.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Your consultation is booked" in html
    assert "In the studio" in html and "Gala" in html
    assert "56.5 cm" in html and "Nickel" in html
    # The studio's time with its zone, then the customer's own (app.common.dates, one format).
    assert re.search(r"\w+day, \d{1,2} \w+ \d{4}, \d{2}:\d{2} (GMT|BST)</strong>", html)
    assert re.search(r"Your time: \w+day, \d{1,2} \w+ \d{4}, \d{2}:\d{2} Eastern", html)
    # Fit notes are escaped, never markup.
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in html
    for mail in read_outbox(app.config["MAIL_OUTBOX_DIR"]):
        assert "<script>alert" not in mail.get_body(("html",)).get_content()
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert consultation.user_id is None
        assert consultation.customer_timezone == "America/New_York"
        assert consultation.head_circumference_mm == 565
        assert consultation.notes == NASTY


@pytest.fixture
def public_base(app):
    app.config["PUBLIC_BASE_URL"] = "https://shop.example"


def test_booking_mail_links_use_the_public_base_url(app, public_base, booked_guest):
    hold_mail, mail = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert (
        "https://shop.example/consultations/confirm/"
        in hold_mail.get_body(("plain",)).get_content()
    )
    body = mail.get_body(("plain",)).get_content()
    assert "https://shop.example/consultations/manage/" in body
    for sent in (hold_mail, mail):
        assert "diadem.test" not in sent.get_body(("plain",)).get_content()  # the request's host


def test_ics_download_by_signed_link(app, client, booked_guest):
    response, consultation_id = booked_guest
    ics = client.get(response.headers["Location"] + "/invite.ics")
    assert ics.status_code == 200
    assert ics.mimetype == "text/calendar"
    assert "attachment" in ics.headers["Content-Disposition"]
    event = icalendar.Calendar.from_ical(ics.data).walk("VEVENT")[0]
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert event.decoded("dtstart") == consultation.local_start
    assert "TZID" not in event["dtstart"].params
    assert client.get("/consultations/manage/not-a-token/invite.ics").status_code == 404


# One app for all the cases: a fresh database per case would triple this module's run time.
FORM_ERRORS = [
    ({"event_date": "2020-01-01"}, "The event date is in the past."),
    ({"event_date": ""}, "Tell us the date of your event."),
    ({"event_date": "next spring"}, "Not a valid date value."),
    ({"circumference": "-56"}, "A head circumference is a positive number."),
    ({"circumference": "0"}, "A head circumference is a positive number."),
    ({"circumference": "300"}, "That does not look like a head circumference"),
    ({"circumference": "22"}, "22 cm is far too small for a head. Did you mean inches?"),
    (
        {"circumference": "56", "circumference_unit": "in"},
        "56 inches is far too big for a head. Did you mean centimetres?",
    ),
    ({"circumference": "565"}, "That looks like millimetres: enter 56.5 cm"),
    ({"circumference": "fifty"}, "Enter the measurement as a number, e.g. 56.5."),
    ({"circumference_unit": "furlongs"}, "Not a valid choice"),
    ({"notes": "x" * 2001}, "Keep your notes under 2000 characters."),
    ({"allergies": "x" * 201}, "Keep allergies under 200 characters."),
    ({"name": ""}, "Tell us your name."),
    ({"email": "not-an-email"}, "Check the email address."),
    ({"slot": None}, "Pick a time for the consultation."),
    ({"slot": "2020-01-01T10:00Z"}, "That slot was just taken — please pick another."),
    ({"slot": "whenever"}, "Pick one of the times offered."),
    ({"mode": "carrier-pigeon"}, "Not a valid choice"),
    ({"event_kind": "coronation"}, "Not a valid choice"),
]


def test_form_errors_are_clear(app, client):
    data = valid_data(client)
    for overrides, message in FORM_ERRORS:
        case = {k: v for k, v in {**data, **overrides}.items() if v is not None}
        response = post(client, case)
        html = unescape(response.get_data(as_text=True))
        assert response.status_code == 400, overrides
        assert message in html, (overrides, message)
        assert "Please check the form" in html, overrides
    with app.app_context():
        assert db.session.execute(db.select(Consultation)).first() is None


def test_event_before_the_consultation_is_an_error(app, client):
    html, keys = form_page(client)
    last = keys[-1]  # weeks away; an event the day before the first slot is before it
    first_day = local_date(parse_slot_key(keys[0]), "Europe/London")
    data = valid_data(client, slot=last, event_date=first_day.isoformat(), accept_rush="y")
    response = post(client, data)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "is before this consultation" in html


def test_a_slot_taken_meanwhile_gets_a_clear_message(app, client):
    data = valid_data(client)
    with app.app_context(), atomic():
        services.book_consultation(
            request=real_request(parse_slot_key(data["slot"])),
            user_id=None,
            now=utcnow(),
        )
    response = post(client, data)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "That slot was just taken — please pick another." in html
    assert data["slot"] not in slot_keys(html)  # no longer offered


def test_check_my_timeline_without_javascript(app, client):
    event = date.today() + timedelta(days=200)
    data = valid_data(client, event_date=event.isoformat(), slot=None, submit=None, check="1")
    response = post(client, data)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    latest = event - timedelta(days=8 * 7 + 5 + 7)
    assert f"the latest safe date to commission is {latest.day} {latest:%B %Y}" in html
    assert "Please check the form" not in html
    with app.app_context():
        assert db.session.execute(db.select(Consultation)).first() is None


def test_an_event_too_close_is_told_plainly_and_flagged_rush(app, client):
    event = date.today() + timedelta(days=30)
    html = unescape(
        post(
            client,
            valid_data(client, event_date=event.isoformat(), slot=None, submit=None, check="1"),
        ).get_data(as_text=True)
    )
    assert "is too close for our usual timeline" in html
    assert "The earliest times we have" in html
    keys = slot_keys(html)
    response = post(client, valid_data(client, event_date=event.isoformat(), slot=keys[0]))
    assert response.status_code == 400
    assert "tick the box to go ahead as a rush commission" in unescape(
        response.get_data(as_text=True)
    )
    response = post(
        client, valid_data(client, event_date=event.isoformat(), slot=keys[0], accept_rush="y")
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(Consultation.rush)).scalar_one() is True


def test_in_time_slots_come_first_with_later_ones_marked(app, client):
    # An event whose latest safe date falls inside the booking horizon splits the list.
    event = date.today() + timedelta(days=8 * 7 + 12 + 20)
    html = unescape(
        post(
            client,
            valid_data(client, event_date=event.isoformat(), slot=None, submit=None, check="1"),
        ).get_data(as_text=True)
    )
    early = html.index("Early enough for your event")
    late = html.index("Later times")
    assert early < late
    assert 'class="tag tag-rush">rush' in html[late:]
    assert "tag-rush" not in html[early:late]


def test_lead_time_json_for_the_script(client):
    event = date.today() + timedelta(days=200)
    data = client.get(f"/consultations/lead-time?event_date={event.isoformat()}").get_json()
    assert data["latest_safe_date"] == (event - timedelta(days=68)).isoformat()
    assert data["too_close"] is False
    assert client.get("/consultations/lead-time?event_date=soon").status_code == 400
    assert client.get("/consultations/lead-time?event_date=2020-01-01").status_code == 400


def test_product_link_preselects_the_piece(app, client, seeded):
    html, _ = form_page(client, "/consultations/new?product=bespoke-bridal-tiara")
    assert re.search(r'<option selected value="\d+">Bespoke Bridal Tiara</option>', html)


def test_book_button_on_custom_pieces_only(seeded, client):
    custom = client.get("/shop/bespoke-bridal-tiara").get_data(as_text=True)
    assert "/consultations/new?product=bespoke-bridal-tiara" in custom
    studio_piece = client.get("/shop/aurelia-crown").get_data(as_text=True)
    assert "/consultations/new?product=" not in studio_piece
    home = client.get("/").get_data(as_text=True)
    assert 'href="/consultations/new"' in home


def test_signed_in_customer_prefill_and_snapshot(app, client):
    from app.tryon.models import TryonSnapshot

    owner = make_user(app, email="owner@example.com", name="Olive Owner")
    other = make_user(app, email="other@example.com")
    with app.app_context():
        mine = TryonSnapshot(
            user_id=owner,
            image_name="a.png",
            head_circumference_mm=548,
            head_circumference_low_mm=523,
            head_circumference_high_mm=573,
            recommended_size="M",
        )
        theirs = TryonSnapshot(
            user_id=other, image_name="b.png", head_circumference_mm=590, recommended_size="L"
        )
        db.session.add_all([mine, theirs])
        db.session.commit()
        mine_id, theirs_id = mine.id, theirs.id
    login(client, email="owner@example.com")
    html, keys = form_page(client, f"/consultations/new?snapshot={mine_id}")
    assert 'value="Olive Owner"' in html and 'value="owner@example.com"' in html
    assert 'value="54.8"' in html
    assert f'<option selected value="{mine_id}">' in html
    # The snapshot's size is labelled an estimate with its range, as the fit notes say it.
    assert (
        "size M, head 54.8 cm (estimated by the try-on camera, likely 52.3–57.3 cm: "
        "a guide, not a tape measure)</option>"
    ) in unescape(html)
    assert client.get(f"/consultations/new?snapshot={theirs_id}").status_code == 404
    # A forged snapshot id in the form is refused, not attached.
    response = post(client, valid_data(client, snapshot=str(theirs_id)))
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    response = post(client, valid_data(client, snapshot=str(mine_id), circumference=""))
    assert response.status_code == 302
    with app.app_context():
        consultation = db.session.execute(db.select(Consultation)).scalar_one()
        assert consultation.user_id == owner
        assert consultation.snapshot_id == mine_id
        assert consultation.recommended_size == "M"
        assert consultation.head_circumference_mm == 548


def test_customers_see_only_their_own_consultations(app, client):
    alice = make_user(app, email="alice@example.com")
    make_user(app, email="bob@example.com")
    login(client, email="alice@example.com")
    assert post(client, valid_data(client)).status_code == 302
    with app.app_context():
        consultation = db.session.execute(db.select(Consultation)).scalar_one()
        assert consultation.user_id == alice
        own_id = consultation.id
    assert client.get(f"/consultations/{own_id}").status_code == 200
    assert client.get(f"/consultations/{own_id}/invite.ics").status_code == 200
    listing = client.get("/consultations").get_data(as_text=True)
    assert f"/consultations/{own_id}" in listing
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, email="bob@example.com")
    assert client.get(f"/consultations/{own_id}").status_code == 404
    assert client.get(f"/consultations/{own_id}/invite.ics").status_code == 404
    assert f"/consultations/{own_id}" not in client.get("/consultations").get_data(as_text=True)
    account = client.get("/account").get_data(as_text=True)
    assert 'href="/consultations"' in account


def test_reschedule_and_cancel_by_signed_link(app, client, booked_guest):
    response, consultation_id = booked_guest
    manage = response.headers["Location"]
    html = client.get(manage).get_data(as_text=True)
    keys = slot_keys(html)
    token = csrf_token(client, manage)
    moved = client.post(manage + "/reschedule", data={"csrf_token": token, "slot": keys[3]})
    assert moved.status_code == 302
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert consultation.starts_at == parse_slot_key(keys[3])
        assert consultation.reschedule_count == 1
    bad = client.post(manage + "/reschedule", data={"csrf_token": token, "slot": "junk"})
    assert bad.status_code == 400 and "Pick one of the times offered." in bad.get_data(as_text=True)
    cancelled = client.post(manage + "/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 302
    page = client.get(manage).get_data(as_text=True)
    assert "Cancelled" in page and "Move my consultation" not in page
    assert 'href="/consultations/new"' in page.split("data-onward")[1]  # a way on, not a dead end
    mails = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert [
        ("booked" in m["Subject"], "moved" in m["Subject"], "cancelled" in m["Subject"])
        for m in mails
    ] == [(False, False, False), (True, False, False), (False, True, False), (False, False, True)]


def test_links_stop_changing_things_after_the_cutoff(app, client, booked_guest):
    response, consultation_id = booked_guest
    with app.app_context():
        services.get_settings().change_cutoff_hours = 336  # 14 days: already past
        db.session.commit()
    manage = response.headers["Location"]
    html = unescape(client.get(manage).get_data(as_text=True))
    assert "Online changes closed on" in html
    assert "Move my consultation" not in html
    token = csrf_token(client, "/consultations/new")
    refused = client.post(manage + "/cancel", data={"csrf_token": token})
    assert refused.status_code == 400
    assert "Online changes close 336 hours before" in unescape(refused.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Consultation, consultation_id).status == "booked"


# ------------------------------------------------------------------------------------ staff


@pytest.fixture
def staff_client(app, client):
    make_user(app, email="maker@example.com", role="staff", name="Mira Maker")
    login(client, email="maker@example.com")
    return client


def test_customers_are_refused_staff_pages(app, client, booked_guest):
    _, consultation_id = booked_guest
    make_user(app, email="c@example.com")
    login(client, email="c@example.com")
    token = csrf_token(client, "/consultations/new")
    for path in ("/staff/consultations", f"/staff/consultations/{consultation_id}"):
        assert client.get(path).status_code == 403, path
    for path in (
        "/staff/consultations/settings",
        f"/staff/consultations/{consultation_id}/outcome",
        f"/staff/consultations/{consultation_id}/notes",
        f"/staff/consultations/{consultation_id}/order-draft",
        "/staff/consultations/settings/exceptions",
        "/staff/consultations/settings/exceptions/1/delete",
    ):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path


def test_staff_calendar_shows_every_fit_note_escaped(app, staff_client, booked_guest):
    _, consultation_id = booked_guest
    html = staff_client.get("/staff/consultations").get_data(as_text=True)
    assert "Grace Hopper" in html and "Nickel" in html and "Pearls" in html
    assert "Updo / bun" in html and "No veil" in html and "$2,000–5,000" in html
    assert "56.5 cm" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    detail = staff_client.get(f"/staff/consultations/{consultation_id}").get_data(as_text=True)
    assert "&lt;script&gt;" in detail and "<script>alert" not in detail
    assert "Customer&#39;s time" in detail or "Customer's time" in detail


def test_staff_add_notes_escaped(app, staff_client, booked_guest):
    _, consultation_id = booked_guest
    path = f"/staff/consultations/{consultation_id}"
    token = csrf_token(staff_client, path)
    response = staff_client.post(path + "/notes", data={"csrf_token": token, "body": NASTY})
    assert response.status_code == 302
    html = staff_client.get(path).get_data(as_text=True)
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    assert "Mira Maker" in html
    empty = staff_client.post(path + "/notes", data={"csrf_token": token, "body": " "})
    assert empty.status_code == 400 and "Write a note first." in empty.get_data(as_text=True)


def test_staff_mark_done_and_no_show(app, staff_client):
    with app.app_context():
        past_now = utcnow() - timedelta(days=10)
        slot = services.available_slots(now=past_now)[0]
        with atomic():
            consultation = services.book_consultation(
                request=real_request(slot.starts_at), user_id=None, now=past_now
            )
        with atomic():
            services.confirm_booking(consultation_id=consultation.id, now=past_now)
        consultation_id = consultation.id
    path = f"/staff/consultations/{consultation_id}"
    token = csrf_token(staff_client, path)
    assert (
        staff_client.post(
            path + "/outcome", data={"csrf_token": token, "status": "done"}
        ).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Consultation, consultation_id).status == "done"
    staff_client.post(path + "/outcome", data={"csrf_token": token, "status": "no_show"})
    with app.app_context():
        assert db.session.get(Consultation, consultation_id).status == "no_show"
    past = staff_client.get("/staff/consultations?view=past").get_data(as_text=True)
    assert "No-show" in past


def test_staff_cannot_mark_a_future_consultation(app, staff_client, booked_guest):
    _, consultation_id = booked_guest
    path = f"/staff/consultations/{consultation_id}"
    token = csrf_token(staff_client, path)
    response = staff_client.post(
        path + "/outcome", data={"csrf_token": token, "status": "done"}, follow_redirects=True
    )
    assert "has not started yet" in response.get_data(as_text=True)


@pytest.fixture
def admin_client(app, client):
    make_user(app, email="owner@example.com", role="admin", name="Ada Owner")
    login(client, email="owner@example.com")
    return client


def test_plain_staff_see_the_settings_but_cannot_change_them(app, staff_client):
    page = staff_client.get("/staff/consultations/settings").get_data(as_text=True)
    assert "Only an admin can change the studio settings" in page
    assert "Save settings" not in page
    token = csrf_token(staff_client, "/staff/consultations/settings")
    for path in ("", "/exceptions", "/exceptions/1/delete"):
        response = staff_client.post(
            f"/staff/consultations/settings{path}",
            data={"csrf_token": token, "consultation_minutes": "45", "day": "2030-01-01"},
        )
        assert response.status_code == 403, path


def test_staff_edit_settings_and_hours(app, admin_client):
    page = admin_client.get("/staff/consultations/settings").get_data(as_text=True)
    assert 'value="10:00-17:00"' in page
    token = csrf_token(admin_client, "/staff/consultations/settings")
    data = {
        "csrf_token": token,
        "consultation_minutes": "45",
        "buffer_minutes": "0",
        "horizon_days": "30",
        "min_notice_hours": "48",
        "change_cutoff_hours": "12",
        "default_lead_time_weeks": "10",
        "shipping_days": "3",
        "safety_days": "4",
        "hours_0": "09:00-12:00, 13:00-15:00",
        **{f"hours_{d}": "" for d in range(1, 7)},
    }
    assert admin_client.post("/staff/consultations/settings", data=data).status_code == 302
    with app.app_context():
        settings = services.get_settings()
        assert (settings.consultation_minutes, settings.horizon_days) == (45, 30)
        assert list(services.weekly_hours()) == [0]
        slots = services.available_slots(now=utcnow())
        assert slots and all(s.local_start.weekday() == 0 for s in slots)
        assert {f"{s.local_start:%H:%M}" for s in slots} == {
            "09:00",
            "09:45",
            "10:30",
            "11:15",
            "13:00",
            "13:45",
        }
    bad = dict(data, hours_2="17:00-09:00", consultation_minutes="5")
    response = admin_client.post("/staff/consultations/settings", data=bad)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Closing time 09:00 must be after opening time 17:00." in html
    assert "Use 15 to 240 minutes." in html


def test_staff_days_off_and_exceptions(app, admin_client):
    token = csrf_token(admin_client, "/staff/consultations/settings")
    start = date.today() + timedelta(days=7)
    response = admin_client.post(
        "/staff/consultations/settings/exceptions",
        data={
            "csrf_token": token,
            "first_day": start.isoformat(),
            "last_day": (start + timedelta(days=2)).isoformat(),
            "hours": "",
            "note": "Goldsmiths' fair",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        closed = {e.day for e in services.list_exceptions()}
        assert closed == {start + timedelta(days=n) for n in range(3)}
        assert not [s for s in services.available_slots(now=utcnow()) if s.local_day in closed]
        first_id = services.list_exceptions()[0].id
    bad = admin_client.post(
        "/staff/consultations/settings/exceptions",
        data={"csrf_token": token, "first_day": start.isoformat(), "hours": "noon-ish"},
    )
    assert bad.status_code == 400 and "Write hours as 10:00-17:00" in unescape(
        bad.get_data(as_text=True)
    )
    backwards = admin_client.post(
        "/staff/consultations/settings/exceptions",
        data={
            "csrf_token": token,
            "first_day": start.isoformat(),
            "last_day": (start - timedelta(days=1)).isoformat(),
        },
    )
    assert "The last day is before the first." in backwards.get_data(as_text=True)
    admin_client.post(
        f"/staff/consultations/settings/exceptions/{first_id}/delete", data={"csrf_token": token}
    )
    with app.app_context():
        assert len(services.list_exceptions()) == 2


def test_staff_turn_a_consultation_into_an_order_draft(app, staff_client, seeded):
    html, keys = form_page(staff_client, "/consultations/new?product=garden-laurel-commission")
    product_id = re.search(r'<option selected value="(\d+)">', html).group(1)
    data = valid_data(staff_client, product=product_id, slot=keys[0])
    assert post(staff_client, data).status_code == 302
    with app.app_context():
        consultation_id = db.session.execute(db.select(Consultation.id)).scalar_one()
    path = f"/staff/consultations/{consultation_id}"
    token = csrf_token(staff_client, path)
    done = staff_client.post(
        path + "/order-draft",
        data={"csrf_token": token, "product": "", "metal": "", "size": ""},
        follow_redirects=True,
    )
    html = done.get_data(as_text=True)
    assert "Custom order draft" in html and "created with the fit notes" in html
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert consultation.order_number in html
    again = staff_client.post(
        path + "/order-draft",
        data={"csrf_token": token, "product": "", "metal": "", "size": ""},
        follow_redirects=True,
    )
    assert "already has an order draft" in again.get_data(as_text=True)


def test_a_guests_order_draft_reaches_them_by_a_signed_link(app, seeded, client):
    html, keys = form_page(client, "/consultations/new?product=garden-laurel-commission")
    product_id = re.search(r'<option selected value="(\d+)">', html).group(1)
    assert post(client, valid_data(client, product=product_id, slot=keys[0])).status_code == 302
    assert confirm(client, confirm_link(app)).status_code == 302
    with app.app_context():
        consultation = db.session.execute(db.select(Consultation)).scalar_one()
        consultation_id, guest_email = consultation.id, consultation.email
        assert consultation.user_id is None
    make_user(app, email="maker@example.com", role="staff", name="Mira Maker")
    staff = app.test_client()
    login(staff, email="maker@example.com")
    path = f"/staff/consultations/{consultation_id}"
    token = csrf_token(staff, path)
    page = staff.post(
        path + "/order-draft",
        data={"csrf_token": token, "product": "", "metal": "", "size": ""},
        follow_redirects=True,
    ).get_data(as_text=True)
    mails = [m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if "commission" in m["Subject"]]
    assert [m["To"] for m in mails] == [guest_email]
    link = re.search(
        r"http://diadem\.test(/account/orders/\S+\?t=\S+)",
        mails[0].get_body(("plain",)).get_content(),
    ).group(1)
    shown = unescape(re.search(r'class="draft-link">([^<]+)<', page).group(1))
    # The same order and payload; the signature's timestamp may tick over between mail and page.
    assert shown.split(".")[1:2] and shown.rsplit(".", 2)[0].endswith(link.rsplit(".", 2)[0])
    # The guest, signed in nowhere, opens their draft from the mail.
    stranger = app.test_client()
    assert stranger.get(link.split("?")[0]).status_code in (302, 403, 404)  # not without it
    draft = app.test_client().get(link, follow_redirects=True)
    assert draft.status_code == 200 and "Garden Laurel" in draft.get_data(as_text=True)


def test_send_reminders_command_is_idempotent(app, runner):
    with app.app_context():
        # Open round the clock with no notice, so the first slot starts within the hour.
        settings = services.get_settings()
        settings.min_notice_hours = 0
        db.session.commit()
        with atomic():
            services.set_exception(
                first_day=date.today() - timedelta(days=1),
                last_day=date.today() + timedelta(days=1),
                hours=parse_hours("00:00-23:59"),
                note="",
            )
        now = utcnow()
        slot = services.available_slots(now=now)[0]
        assert slot.starts_at - now < timedelta(hours=2)
        with atomic():
            held = services.book_consultation(
                request=real_request(slot.starts_at), user_id=None, now=now
            )
        with atomic():
            services.confirm_booking(consultation_id=held.id, now=now)
    first = runner.invoke(args=["send-reminders"])
    second = runner.invoke(args=["send-reminders"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "Sent 1 consultation reminder(s)." in first.output
    assert "Sent 0 consultation reminder(s)." in second.output
    mails = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert len([m for m in mails if "Reminder" in m["Subject"]]) == 1
