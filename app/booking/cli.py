"""Periodic work for consultations: commands for cron, and the same jobs for the scheduler."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from app.booking import services
from app.common.scheduling import ScheduledJob, run_job
from app.common.transactions import atomic
from app.domain.clock import utcnow


def expire_holds(*, now: datetime) -> int:
    """Mark guests' holds that ran out unconfirmed as lapsed, one transaction each; return how many.

    Booking releases a lapsed hold by itself when someone wants its slot; this keeps the staff
    calendar and the counts tidy in between.
    """
    with atomic():
        due = services.lapsed_hold_ids(now=now)
    lapsed = 0
    for consultation_id in due:
        with atomic():
            lapsed += services.lapse_hold(consultation_id=consultation_id, now=now)
    return lapsed


def send_reminders(*, now: datetime) -> int:
    """Email the reminders due at ``now``, one transaction per reminder; return how many."""
    with atomic():
        due = services.due_reminder_ids(now=now)
    sent = 0
    for consultation_id in due:
        # Each claim commits with its reminder's outbox row, so one bad address or a second run
        # at the same time never holds back or repeats the others.
        with atomic():
            sent += services.send_reminder(consultation_id=consultation_id, now=now)
    return sent


def _reminders_job(*, now: datetime) -> str:
    # Lapsed guest holds are released first; they never get a reminder.
    lapsed = expire_holds(now=now)
    sent = send_reminders(now=now)
    return f"Released {lapsed} lapsed booking hold(s). Sent {sent} consultation reminder(s)."


def _expire_holds_job(*, now: datetime) -> str:
    return f"Released {expire_holds(now=now)} lapsed booking hold(s)."


reminders_job = ScheduledJob(name="send-reminders", every_seconds=10 * 60, run=_reminders_job)
expire_holds_job = ScheduledJob(
    name="expire-booking-holds", every_seconds=5 * 60, run=_expire_holds_job
)
scheduled_jobs = [expire_holds_job, reminders_job]


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Email reminders for consultations in the next 24 hours (safe to run again).

    Lapsed guest holds are released first; they never get a reminder.
    """
    click.echo(run_job(reminders_job, now=utcnow()).summary)


@click.command("expire-booking-holds")
@with_appcontext
def expire_holds_command() -> None:
    """Release guests' consultation holds not confirmed in time (safe to run again)."""
    click.echo(run_job(expire_holds_job, now=utcnow()).summary)


commands = [send_reminders_command, expire_holds_command]
