"""Guests' holds on consultation slots and the cap on upcoming consultations per buyer."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.booking import services
from app.booking.cli import expire_holds, send_reminders
from app.booking.models import Consultation
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.extensions import db
from tests.booking.builders import NOW, TUESDAY_10, TUESDAY_1115, book, hold

WEDNESDAY_10 = datetime(2027, 3, 3, 10, 0)
THURSDAY_10 = datetime(2027, 3, 4, 10, 0)
AFTER_HOLD = NOW + timedelta(minutes=31)


def outbox(app):
    return read_outbox(app.config["MAIL_OUTBOX_DIR"])


def count() -> int:
    return db.session.execute(db.select(db.func.count(Consultation.id))).scalar_one()


def stored(consultation_id: int) -> Consultation:
    db.session.expire_all()
    return db.session.get_one(Consultation, consultation_id)


# ------------------------------------------------------------------------------------ holds


def test_a_guest_booking_holds_its_slot_until_the_email_is_confirmed(studio):
    held = hold()
    assert held.status == "pending" and held.hold_expires_at == NOW + timedelta(minutes=30)
    [mail] = outbox(studio)
    assert "Confirm" in mail["Subject"] and held.reference in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "within 30 minutes" in body and "/consultations/confirm/" in body
    assert not list(mail.iter_attachments())  # no invite for a time not yet theirs
    assert TUESDAY_10 not in {s.starts_at for s in services.available_slots(now=NOW)}

    with atomic():
        services.confirm_booking(consultation_id=held.id, now=NOW + timedelta(minutes=5))
    confirmed = stored(held.id)
    assert confirmed.status == "booked" and confirmed.hold_expires_at is None
    assert confirmed.confirmed_at == NOW + timedelta(minutes=5)
    mails = outbox(studio)
    assert len(mails) == 2 and "is booked" in mails[1]["Subject"]
    assert [p.get_content_type() for p in mails[1].iter_attachments()] == ["text/calendar"]
    with atomic():  # a second click on the link changes nothing and sends nothing
        services.confirm_booking(consultation_id=held.id, now=NOW + timedelta(minutes=6))
    assert len(outbox(studio)) == 2


def test_a_signed_in_customer_is_booked_at_once(studio):
    from tests.helpers import make_user

    user_id = make_user(studio, email="ada@example.com")
    consultation = hold(user_id=user_id)
    assert consultation.status == "booked" and consultation.hold_expires_at is None
    [mail] = outbox(studio)
    assert "is booked" in mail["Subject"]


def test_the_hold_length_is_configured(studio):
    studio.config["BOOKING_GUEST_HOLD_MINUTES"] = 10
    assert hold().hold_expires_at == NOW + timedelta(minutes=10)


def test_hold_settings_come_from_the_environment(monkeypatch, tmp_path):
    from app.config import from_environment

    monkeypatch.setenv("DIADEM_BOOKING_GUEST_HOLD_MINUTES", "15")
    monkeypatch.setenv("DIADEM_BOOKING_MAX_UPCOMING", "3")
    config = from_environment(str(tmp_path))
    assert config["BOOKING_GUEST_HOLD_MINUTES"] == 15 and config["BOOKING_MAX_UPCOMING"] == 3


def test_a_lapsed_hold_no_longer_occupies_its_slot(studio):
    held = hold()
    with pytest.raises(services.SlotTaken):  # still held a minute before it lapses
        hold(now=NOW + timedelta(minutes=29), email="grace@example.com")
    assert TUESDAY_10 in {s.starts_at for s in services.available_slots(now=AFTER_HOLD)}
    # Booking the slot marks the lapsed hold under the day lock, then takes the slot.
    taker = book(now=AFTER_HOLD, email="grace@example.com")
    assert taker.status == "booked" and taker.starts_at == TUESDAY_10
    assert stored(held.id).status == "lapsed"


def test_a_lapsed_hold_is_off_the_staff_calendar_and_never_reminded(studio):
    held = hold()
    waiting = hold(TUESDAY_1115, email="grace@example.com", now=NOW + timedelta(minutes=20))
    day = date(2027, 3, 2)
    assert services.consultations_on(day, now=NOW + timedelta(minutes=25)) == [held, waiting]
    assert services.consultations_on(day, now=AFTER_HOLD) == [waiting]
    assert services.staff_schedule(now=AFTER_HOLD) == [waiting]
    assert services.staff_schedule(now=AFTER_HOLD, include_cancelled=True) == [held, waiting]
    # Unconfirmed holds get no reminder, lapsed or not.
    assert send_reminders(now=datetime(2027, 3, 1, 18, 0)) == 0
    assert send_reminders(now=NOW + timedelta(minutes=25)) == 0


def test_a_pending_hold_is_never_reminded(studio):
    studio.config["BOOKING_GUEST_HOLD_MINUTES"] = 48 * 60  # still held the evening before
    hold()
    assert send_reminders(now=datetime(2027, 3, 1, 18, 0)) == 0
    assert [m["Subject"][:7] for m in outbox(studio)] == ["Confirm"]


def test_confirming_a_lapsed_hold_takes_the_time_again_if_it_is_free(studio):
    held = hold()
    expire_holds(now=AFTER_HOLD)
    assert stored(held.id).status == "lapsed"
    with atomic():
        services.confirm_booking(consultation_id=held.id, now=AFTER_HOLD)
    assert stored(held.id).status == "booked"
    assert "is booked" in outbox(studio)[-1]["Subject"]


def test_confirming_a_lapsed_hold_whose_time_was_taken_says_so(studio):
    held = hold()
    book(now=AFTER_HOLD, email="grace@example.com")
    lapsed = "lapsed.*within 30 minutes.*book again"
    with pytest.raises(services.HoldLapsed, match=lapsed), atomic():
        services.confirm_booking(consultation_id=held.id, now=AFTER_HOLD)
    assert stored(held.id).status == "lapsed"
    assert [m["To"] for m in outbox(studio) if "is booked" in m["Subject"]] == ["grace@example.com"]


def test_confirming_a_lapsed_hold_respects_the_cap(studio):
    held = hold()
    book(WEDNESDAY_10, now=AFTER_HOLD)  # the same buyer books twice meanwhile
    book(THURSDAY_10, now=AFTER_HOLD)
    with pytest.raises(services.TooManyUpcoming), atomic():
        services.confirm_booking(consultation_id=held.id, now=AFTER_HOLD)
    assert stored(held.id).status != "booked"


def test_a_cancelled_booking_cannot_be_confirmed(studio):
    consultation = book()
    with atomic():
        services.cancel_consultation(consultation_id=consultation.id, now=NOW)
    with pytest.raises(services.ChangesClosed, match="cancelled"), atomic():
        services.confirm_booking(consultation_id=consultation.id, now=NOW)


def test_expire_holds_releases_only_holds_past_their_time(studio):
    early = hold()
    late = hold(TUESDAY_1115, email="grace@example.com", now=NOW + timedelta(minutes=10))
    confirmed = book(WEDNESDAY_10, email="mary@example.com")
    assert expire_holds(now=AFTER_HOLD) == 1
    assert expire_holds(now=AFTER_HOLD) == 0
    assert [stored(c.id).status for c in (early, late, confirmed)] == [
        "lapsed",
        "pending",
        "booked",
    ]


def test_staff_cannot_draft_or_mark_an_unconfirmed_hold(studio, custom_product):
    held = hold(product_id=custom_product.id)
    with pytest.raises(services.BookingError, match="not confirmed"), atomic():
        services.create_order_draft(consultation_id=held.id, now=NOW)
    with pytest.raises(services.BookingError, match="never confirmed"), atomic():
        services.mark_outcome(consultation_id=held.id, status="done", now=TUESDAY_10)


# ---------------------------------------------------------------------------- the buyer cap


def test_email_keys_name_one_mailbox():
    assert services.email_key("  Ada.Lovelace+crowns@Example.COM ") == "ada.lovelace@example.com"
    assert services.email_key("ada@example.com") == services.email_key("ADA+1@example.com")
    assert services.email_key("+x@example.com") == "+x@example.com"  # nothing left to strip


def test_one_email_holds_at_most_two_upcoming_consultations(studio):
    hold(email="ada@example.com")
    book(WEDNESDAY_10, email="Ada@Example.com")
    with pytest.raises(services.TooManyUpcoming, match="already have 2 upcoming") as exc:
        hold(THURSDAY_10, email="ADA+again@example.com")
    assert exc.value.field == "email"
    assert count() == 2
    assert len(outbox(studio)) == 3  # two holds and one confirmation: nothing for the refusal


def test_the_cap_is_configured(studio):
    studio.config["BOOKING_MAX_UPCOMING"] = 1
    hold()
    with pytest.raises(services.TooManyUpcoming, match="already have 1 upcoming"):
        hold(WEDNESDAY_10)


def test_one_session_with_different_emails_is_capped(studio):
    hold(session_key="browser-1", email="a@example.com")
    hold(WEDNESDAY_10, session_key="browser-1", email="b@example.com")
    with pytest.raises(services.TooManyUpcoming):
        hold(THURSDAY_10, session_key="browser-1", email="c@example.com")
    hold(THURSDAY_10, session_key="browser-2", email="c@example.com")  # someone else
    assert count() == 3


def test_one_account_with_different_emails_is_capped(studio):
    from tests.helpers import make_user

    user_id = make_user(studio, email="ada@example.com")
    hold(user_id=user_id, email="a@example.com")
    hold(WEDNESDAY_10, user_id=user_id, email="b@example.com")
    with pytest.raises(services.TooManyUpcoming):
        hold(THURSDAY_10, user_id=user_id, email="c@example.com")


def test_lapsed_cancelled_and_past_consultations_do_not_count(studio):
    hold()  # lapses
    cancelled = book(WEDNESDAY_10, now=AFTER_HOLD)
    with atomic():
        services.cancel_consultation(consultation_id=cancelled.id, now=AFTER_HOLD)
    book(THURSDAY_10, now=AFTER_HOLD)
    book(datetime(2027, 3, 5, 10, 0), now=AFTER_HOLD)  # the second upcoming one
    with pytest.raises(services.TooManyUpcoming):
        hold(datetime(2027, 3, 6, 10, 0), now=AFTER_HOLD)
    # Once Thursday's consultation is over it no longer counts.
    after_thursday = datetime(2027, 3, 4, 12, 0)
    assert hold(datetime(2027, 3, 9, 10, 0), now=after_thursday).status == "pending"


def test_rescheduling_at_the_cap_is_allowed(studio):
    first = book()
    book(WEDNESDAY_10)
    with atomic():
        moved = services.reschedule_consultation(
            consultation_id=first.id, starts_at=THURSDAY_10, now=NOW
        )
    assert moved.starts_at == THURSDAY_10
