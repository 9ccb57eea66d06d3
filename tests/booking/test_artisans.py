"""Consultations with a named artisan: each artisan's calendar, "any artisan", staff moves."""

from __future__ import annotations

from datetime import date, datetime, time

import icalendar
import pytest

from app.booking import services
from app.booking.models import Consultation
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.scheduling import OpeningInterval, parse_hours
from app.extensions import db
from tests.booking.artisans import make_artisan
from tests.booking.builders import NOW, TUESDAY_10, TUESDAY_1115, book

# Mira's Tuesday grid (12:30, 13:45, 15:00) shares 12:30 and 13:45 with the studio's.
TUESDAY_1345 = datetime(2027, 3, 2, 13, 45)
MIRA_TUESDAY = {datetime(2027, 3, 2, 12, 30), TUESDAY_1345, datetime(2027, 3, 2, 15, 0)}
WEDNESDAY_10 = datetime(2027, 3, 3, 10, 0)


@pytest.fixture
def pair(studio):
    """Mira keeps her own week (Tuesday afternoons); Noor keeps the studio's."""
    mira = make_artisan("Mira", hours={1: "12:30-17:00"})
    noor = make_artisan("Noor")
    return mira, noor


def starts(artisan_id=None, *, day=None) -> set[datetime]:
    slots = services.available_slots(now=NOW, artisan_id=artisan_id)
    return {s.starts_at for s in slots if day is None or s.local_day == day}


def test_each_artisan_offers_their_own_hours_and_any_is_the_union(pair):
    mira, noor = pair
    tuesday = date(2027, 3, 2)
    assert starts(mira, day=tuesday) == MIRA_TUESDAY
    assert starts(mira, day=date(2027, 3, 3)) == set()  # her week is Tuesdays only
    assert TUESDAY_10 in starts(noor, day=tuesday)  # the studio's 10:00-17:00
    assert starts(None) == starts(mira) | starts(noor)


def test_an_artisans_day_off_closes_only_their_calendar(pair):
    mira, noor = pair
    with atomic():
        services.set_artisan_exception(
            artisan_id=noor, first_day=date(2027, 3, 3), last_day=None, hours=(), note="Fair"
        )
    assert starts(noor, day=date(2027, 3, 3)) == set()
    with atomic():  # an artisan's own special hours win over the studio's week
        services.set_artisan_exception(
            artisan_id=mira,
            first_day=date(2027, 3, 3),
            last_day=None,
            hours=(OpeningInterval(time(10), time(11)),),
            note="",
        )
    assert starts(None, day=date(2027, 3, 3)) == {WEDNESDAY_10}


def test_a_studio_closure_closes_every_artisan(pair):
    with atomic():
        services.set_exception(first_day=date(2027, 3, 2), last_day=None, hours=(), note="")
    assert starts(None, day=date(2027, 3, 2)) == set()


def test_any_artisan_takes_the_first_free_in_a_fixed_order(pair):
    mira, noor = pair
    first = book(TUESDAY_1345, email="a@example.com")
    second = book(TUESDAY_1345, email="b@example.com")
    assert (first.artisan_id, second.artisan_id) == (mira, noor)
    with pytest.raises(services.SlotTaken):
        book(TUESDAY_1345, email="c@example.com")
    assert TUESDAY_1345 not in starts(None)


def test_a_named_artisan_is_booked_only_in_their_own_slots(pair):
    mira, noor = pair
    with pytest.raises(services.SlotUnavailable):
        book(TUESDAY_10, artisan_id=mira)  # Mira starts at 12:30
    assert book(TUESDAY_10, artisan_id=noor).artisan_id == noor
    with pytest.raises(services.SlotTaken):
        book(TUESDAY_10, artisan_id=noor, email="b@example.com")
    assert TUESDAY_10 not in starts(noor)
    assert book(TUESDAY_1345, artisan_id=noor, email="c@example.com").artisan_id == noor
    assert starts(mira, day=date(2027, 3, 2)) == MIRA_TUESDAY


def test_an_artisan_who_takes_no_bookings_cannot_be_named(pair, studio):
    hidden = make_artisan("Hidden", published=False)
    assert [a.display_name for a in services.bookable_artisans()] == ["Mira", "Noor"]
    with pytest.raises(services.BookingError) as exc:
        book(TUESDAY_10, artisan_id=hidden)
    assert exc.value.field == "artisan"


def test_without_artisans_the_studio_calendar_is_kept(studio):
    assert book(TUESDAY_10).artisan_id is None
    with pytest.raises(services.SlotTaken):
        book(TUESDAY_10, email="b@example.com")


def test_a_customers_reschedule_stays_with_their_artisan(pair):
    mira, noor = pair
    consultation = book(TUESDAY_1345, artisan_id=noor)
    with atomic():
        services.reschedule_consultation(
            consultation_id=consultation.id, starts_at=TUESDAY_1115, now=NOW
        )
    assert consultation.artisan_id == noor


def ics_of(message) -> icalendar.Event:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]


def test_staff_move_a_booking_to_another_artisan_and_the_invite_replaces_the_old(pair):
    mira, noor = pair
    consultation = book(TUESDAY_1345, artisan_id=mira)
    before = ics_of(read_outbox(studio_outbox())[-1])
    with atomic():
        services.move_consultation(
            consultation_id=consultation.id, starts_at=TUESDAY_1345, artisan_id=noor, now=NOW
        )
    moved = read_outbox(studio_outbox())[-1]
    after = ics_of(moved)
    assert consultation.artisan_id == noor and consultation.starts_at == TUESDAY_1345
    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) == int(before["sequence"]) + 1
    assert "Noor of Diadem Atelier" in str(after["description"])
    assert "has moved" in moved["Subject"]
    text = moved.get_body(("plain",)).get_content()
    assert "With: Noor (http://diadem.test/atelier/noor)" in text
    # Mira's 13:45 is free again; Noor's is not.
    assert TUESDAY_1345 in starts(mira) and TUESDAY_1345 not in starts(noor)


def test_staff_cannot_move_onto_a_taken_slot_or_nowhere(pair):
    mira, noor = pair
    book(TUESDAY_1345, artisan_id=noor, email="first@example.com")
    consultation = book(TUESDAY_1345, artisan_id=mira)
    with pytest.raises(services.SlotTaken), atomic():
        services.move_consultation(
            consultation_id=consultation.id, starts_at=TUESDAY_1345, artisan_id=noor, now=NOW
        )
    with pytest.raises(services.InvalidBooking), atomic():
        services.move_consultation(
            consultation_id=consultation.id, starts_at=TUESDAY_1345, artisan_id=mira, now=NOW
        )
    assert db.session.get(Consultation, consultation.id).artisan_id == mira


def studio_outbox() -> str:
    from flask import current_app

    return current_app.config["MAIL_OUTBOX_DIR"]


def test_staff_are_told_of_bookings_outside_their_artisans_new_hours(pair):
    mira, noor = pair
    with atomic():  # Mira also works Mondays, when the studio itself is closed
        services.update_artisan_calendar(
            artisan_id=mira,
            takes_consultations=True,
            own_hours=True,
            weekly_hours={0: parse_hours("12:30-17:00")},
        )
    monday = book(datetime(2027, 3, 8, 12, 30), artisan_id=mira)
    tuesday = book(TUESDAY_10, artisan_id=noor, email="b@example.com")
    assert services.bookings_clashing_with_exceptions(now=NOW) == []
    with atomic():  # Noor's day off flags her booking; Mira's Monday stays inside her hours
        services.set_artisan_exception(
            artisan_id=noor, first_day=date(2027, 3, 2), last_day=None, hours=(), note=""
        )
    assert services.bookings_clashing_with_exceptions(now=NOW) == [tuesday]
    assert monday.artisan_id == mira
