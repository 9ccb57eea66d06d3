"""Calendar invites read the same instant in two independent iCalendar parsers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar
import pytest
import vobject

from app.booking import services
from app.booking.invites import Invite, build_ics
from app.common.mail import read_outbox
from app.common.transactions import atomic
from tests.booking.builders import NOW, TUESDAY_10, book

# 30 March 2027, 10:00 BST: after the clocks go forward on 28 March.
AFTER_DST = datetime(2027, 3, 30, 9, 0)


def utc(naive: datetime) -> datetime:
    return naive.replace(tzinfo=UTC)


def instants(ics: bytes) -> dict[str, tuple[datetime, datetime]]:
    """DTSTART and DTEND of the one event, in UTC, as each parser reads them."""
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    by_icalendar = (event.decoded("dtstart"), event.decoded("dtend"))
    vevent = vobject.readOne(ics.decode()).vevent
    by_vobject = (vevent.dtstart.value, vevent.dtend.value)
    return {
        name: tuple(moment.astimezone(UTC) for moment in pair)
        for name, pair in (("icalendar", by_icalendar), ("vobject", by_vobject))
    }


def assert_reads(ics: bytes, starts_at: datetime, ends_at: datetime) -> None:
    for parser, (start, end) in instants(ics).items():
        assert (parser, start, end) == (parser, utc(starts_at), utc(ends_at))


def last_invite(app) -> bytes:
    mail = read_outbox(app.config["MAIL_OUTBOX_DIR"])[-1]
    [part] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    content = part.get_content()
    return content.encode() if isinstance(content, str) else content


@pytest.mark.parametrize(
    "starts_at",
    [
        datetime(2026, 12, 10, 13, 45),  # the audit's winter invite: 13:45 GMT
        datetime(2027, 7, 6, 9, 0),  # 10:00 BST
    ],
)
def test_built_invite_is_the_same_instant_in_both_parsers(starts_at):
    ends_at = starts_at.replace(hour=starts_at.hour + 1)
    ics = build_ics(
        Invite(
            uid="consultation-1-abc@diadem.test",
            sequence=0,
            summary="Diadem bespoke consultation",
            description="",
            location="Hatton Garden",
            starts_at=starts_at,
            ends_at=ends_at,
            organizer_email="atelier@diadem.test",
            organizer_name="Diadem Atelier",
            attendee_email="ada@example.com",
            attendee_name="Ada Lovelace",
        ),
        stamp=datetime(2026, 12, 1, 9, 0),
    )
    assert_reads(ics, starts_at, ends_at)
    # UTC times need no VTIMEZONE for a client to misread.
    assert b"VTIMEZONE" not in ics and b"TZID" not in ics


@pytest.mark.parametrize(
    ("starts_at", "now", "event_date"),
    [
        (TUESDAY_10, NOW, date(2027, 9, 4)),  # winter, GMT
        (AFTER_DST, NOW, date(2027, 9, 4)),  # booked in GMT for a day in BST
        (datetime(2027, 7, 6, 9, 0), datetime(2027, 7, 1, 9, 0), date(2028, 9, 4)),  # summer
        (datetime(2026, 12, 10, 13, 45), datetime(2026, 12, 1, 9, 0), date(2027, 9, 4)),
    ],
)
def test_new_booking_invite(studio, starts_at, now, event_date):
    consultation = book(starts_at, now=now, event_date=event_date)
    ics = last_invite(studio)
    assert_reads(ics, consultation.starts_at, consultation.ends_at)
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert event["sequence"] == 0 and str(event["status"]) == "CONFIRMED"


def test_rescheduled_invite_across_the_dst_change(studio):
    consultation = book()
    first = icalendar.Calendar.from_ical(last_invite(studio)).walk("VEVENT")[0]
    with atomic():
        moved = services.reschedule_consultation(
            consultation_id=consultation.id, starts_at=AFTER_DST, now=NOW
        )
    ics = last_invite(studio)
    assert_reads(ics, AFTER_DST, moved.ends_at)
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(event["uid"]) == str(first["uid"])
    assert event["sequence"] == 1
    assert vobject.readOne(ics.decode()).vevent.sequence.value == "1"


@pytest.mark.parametrize("starts_at", [TUESDAY_10, AFTER_DST])
def test_cancelled_invite(studio, starts_at):
    consultation = book(starts_at)
    with atomic():
        services.cancel_consultation(consultation_id=consultation.id, now=NOW)
    ics = last_invite(studio)
    assert_reads(ics, consultation.starts_at, consultation.ends_at)
    calendar = vobject.readOne(ics.decode())
    assert calendar.method.value == "CANCEL"
    assert calendar.vevent.status.value == "CANCELLED"
