"""Calendar invites, confirmation mail and reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_mail import Attachment
from sqlalchemy import update

from app.accounts.models import User
from app.booking.invites import Invite, build_ics
from app.booking.models import Consultation, ConsultationMode, ConsultationStatus
from app.booking.services.links import confirm_token, manage_token
from app.booking.services.meetings import meeting_link_for
from app.booking.services.settings import get_settings
from app.common import dates
from app.common.links import public_url
from app.common.mail import send_mail_after_commit
from app.extensions import db

REMINDER_HOURS = 24
# Only for a video consultation booked while a link existed that has since been removed.
VIDEO_LINK_TO_FOLLOW = "Video call: the atelier emails you the link to join"


def studio_address() -> str:
    return (
        current_app.config.get("STUDIO_ADDRESS")
        or "Diadem Atelier, 14 Hatton Garden, London EC1N 8AT"
    )


def atelier_email() -> str:
    """The atelier's address, from the mail sender ("Diadem Atelier <atelier@...>")."""
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or "atelier@diadem.test"
    if isinstance(sender, tuple):
        sender = sender[1]
    return sender.rsplit("<", 1)[-1].rstrip(">").strip()


def invite_ics(*, consultation: Consultation, now: datetime) -> bytes:
    """The consultation's calendar invite, its times in UTC."""
    organizer_email = atelier_email()
    manage_url = public_url("booking.manage", token=manage_token(consultation))
    url, location = manage_url, studio_address()
    if consultation.mode == ConsultationMode.VIDEO.value:
        # Calendar apps offer a "join" button for a link in URL or LOCATION.
        link = meeting_link_for(consultation)
        url, location = (link, link) if link else (manage_url, VIDEO_LINK_TO_FOLLOW)
    description = (
        f"Bespoke consultation {consultation.reference} with {_with_whom(consultation)} "
        f"({consultation.mode_label.lower()}).\n"
        f"Event: {consultation.event_kind_label} on {dates.day(consultation.event_date, 'long')}.\n"
        f"Reschedule or cancel: {manage_url}"
    )
    domain = organizer_email.rsplit("@", 1)[-1]
    return build_ics(
        Invite(
            uid=f"consultation-{consultation.id}-{consultation.manage_key[:8]}@{domain}",
            sequence=consultation.reschedule_count,
            summary="Diadem bespoke consultation",
            description=description,
            location=location,
            starts_at=consultation.starts_at,
            ends_at=consultation.ends_at,
            organizer_email=organizer_email,
            organizer_name="Diadem Atelier",
            attendee_email=consultation.email,
            attendee_name=consultation.name,
            url=url,
            cancelled=consultation.status == ConsultationStatus.CANCELLED.value,
        ),
        stamp=now,
    )


def _with_whom(consultation: Consultation) -> str:
    """Who the customer meets, as the invite says it: the artisan's public name, else us."""
    artisan = consultation.public_artisan
    return f"{artisan.name} of Diadem Atelier" if artisan else "Diadem Atelier"


def invite_filename(consultation: Consultation) -> str:
    return f"diadem-consultation-{consultation.reference}.ics"


def _mail_context(consultation: Consultation) -> dict[str, object]:
    artisan = consultation.public_artisan
    return {
        "consultation": consultation,
        "artisan_url": public_url("atelier.show", slug=artisan.slug) if artisan else None,
        "manage_url": public_url("booking.manage", token=manage_token(consultation)),
        "book_url": public_url("booking.new_consultation"),
        "fit_guide_url": public_url("main.fit_guide"),
        "location": studio_address(),
        "cutoff_hours": get_settings().change_cutoff_hours,
    }


def _invite_attachment(consultation: Consultation, now: datetime) -> Attachment:
    return Attachment(
        filename=invite_filename(consultation),
        content_type="text/calendar; charset=utf-8",
        data=invite_ics(consultation=consultation, now=now),
    )


def _notify(consultation: Consultation, template: str, subject: str, now: datetime) -> None:
    """Email the customer with the invite once the change commits; a mail failure is only logged."""
    send_mail_after_commit(
        to=consultation.email,
        subject=f"{subject} ({consultation.reference})",
        template=template,
        attachments=[_invite_attachment(consultation, now)],
        **_mail_context(consultation),
    )


def _notify_hold(consultation: Consultation, *, hold_minutes: int) -> None:
    """Email a guest the link that confirms their booking, once the hold commits (no invite yet:
    the time is not theirs until they confirm)."""
    assert consultation.hold_expires_at is not None
    send_mail_after_commit(
        to=consultation.email,
        subject=f"Confirm your Diadem consultation ({consultation.reference})",
        template="consultation_hold",
        confirm_url=public_url("booking.confirm", token=confirm_token(consultation)),
        hold_minutes=hold_minutes,
        hold_until=dates.when(consultation.hold_expires_at, tz=consultation.studio_timezone),
        **_mail_context(consultation),
    )


def due_reminder_ids(*, now: datetime) -> list[int]:
    """Bookings starting within 24 h that have not had a reminder, soonest first."""
    return list(
        db.session.execute(
            db.select(Consultation.id)
            .where(
                Consultation.status == ConsultationStatus.BOOKED.value,
                Consultation.reminder_sent_at.is_(None),
                Consultation.starts_at > now,
                Consultation.starts_at <= now + timedelta(hours=REMINDER_HOURS),
            )
            .order_by(Consultation.starts_at)
        ).scalars()
    )


def send_reminder(*, consultation_id: int, now: datetime) -> bool:
    """Claim one booking's reminder and queue its email in the same transaction; False if not due.

    The claim is a conditional UPDATE of reminder_sent_at: a second run (even a concurrent one)
    finds the column set and skips the row. The outbox row commits with the claim (and its
    dedupe key, one per booking and start time, refuses a second), so the reminder is queued
    exactly once; the outbox retries its delivery if the mail server is down.
    """
    table = Consultation.__table__
    claimed = db.session.execute(
        update(table)
        .where(
            table.c.id == consultation_id,
            table.c.reminder_sent_at.is_(None),
            table.c.status == ConsultationStatus.BOOKED.value,
        )
        .values(reminder_sent_at=now)
    ).rowcount
    if claimed != 1:
        return False
    consultation = db.session.get_one(Consultation, consultation_id, populate_existing=True)
    send_mail_after_commit(
        to=consultation.email,
        subject=f"Reminder: your Diadem consultation ({consultation.reference})",
        template="consultation_reminder",
        dedupe_key=f"consultation-reminder:{consultation.id}:{consultation.starts_at:%Y%m%dT%H%M}",
        # The invite again, same UID and SEQUENCE as the latest sent: calendars update, not add,
        # and pick up a meeting link set since the booking.
        attachments=[_invite_attachment(consultation, now)],
        # The reminder is the email that carries the link to join (see _consultation_details).
        meeting_link=(
            meeting_link_for(consultation)
            if consultation.mode == ConsultationMode.VIDEO.value
            else None
        ),
        **_mail_context(consultation),
    )
    return True


def _holder_email(consultation: Consultation) -> str:
    """Who holds the consultation: the paired artisan's login, else the atelier's inbox."""
    artisan = consultation.artisan
    holder = db.session.get(User, artisan.user_id) if artisan else None
    return holder.email if holder and holder.email else atelier_email()


def notify_fit_notes_changed(consultation: Consultation, changes: list[str]) -> None:
    """Tell whoever holds the consultation what the customer changed, once the change commits.

    Staff's copy carries the staff page's link, never the customer's signed manage link.
    """
    send_mail_after_commit(
        to=_holder_email(consultation),
        subject=f"Fit notes changed by {consultation.name} ({consultation.reference})",
        template="consultation_fit_notes_changed",
        consultation=consultation,
        changes=changes,
        staff_url=public_url("booking_staff.staff_consultation", consultation_id=consultation.id),
    )
