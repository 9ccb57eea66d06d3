"""Calendar invites (.ics); the only module that imports icalendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import icalendar

PRODID = "-//Diadem Atelier//Consultations//EN"


@dataclass(frozen=True)
class Invite:
    uid: str
    sequence: int
    summary: str
    description: str
    location: str
    starts_at: datetime  # naive UTC
    ends_at: datetime
    organizer_email: str
    organizer_name: str
    attendee_email: str
    attendee_name: str
    url: str | None = None
    cancelled: bool = False


def build_ics(invite: Invite, *, stamp: datetime) -> bytes:
    """An iCalendar file with one event, its times in UTC.

    UTC ("...Z") rather than TZID + VTIMEZONE: icalendar's generated VTIMEZONE opens with
    1970's year-round +01:00 rule and lists decades of RDATEs, which some parsers (vobject)
    read as 13:45+01:00 for a winter 13:45 GMT. Every client converts UTC to its own zone.
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if invite.cancelled else "PUBLISH")

    event = icalendar.Event()
    event.add("uid", invite.uid)
    # A higher sequence tells calendar apps that a reschedule replaces the earlier invite.
    event.add("sequence", invite.sequence)
    event.add("dtstamp", stamp.replace(tzinfo=UTC))
    event.add("dtstart", invite.starts_at.replace(tzinfo=UTC))
    event.add("dtend", invite.ends_at.replace(tzinfo=UTC))
    event.add("summary", invite.summary)
    event.add("description", invite.description)
    event.add("location", invite.location)
    event.add("status", "CANCELLED" if invite.cancelled else "CONFIRMED")
    if invite.url:
        event.add("url", invite.url)
    organizer = icalendar.vCalAddress(f"mailto:{invite.organizer_email}")
    organizer.params["cn"] = icalendar.vText(invite.organizer_name)
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{invite.attendee_email}")
    attendee.params["cn"] = icalendar.vText(invite.attendee_name)
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()
