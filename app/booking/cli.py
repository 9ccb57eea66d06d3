"""Cron commands for consultations."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from app.booking import services
from app.common.transactions import atomic
from app.domain.clock import utcnow


def send_reminders(*, now: datetime) -> int:
    """Email the reminders due at ``now``, one transaction per reminder; return how many."""
    with atomic():
        due = services.due_reminder_ids(now=now)
    sent = 0
    for consultation_id in due:
        # Each claim commits on its own, its mail leaving after that commit, so one bad address
        # or a second run at the same time never holds back or repeats the others.
        with atomic():
            sent += services.send_reminder(consultation_id=consultation_id, now=now)
    return sent


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Email reminders for consultations in the next 24 hours (safe to run again)."""
    sent = send_reminders(now=utcnow())
    click.echo(f"Sent {sent} consultation reminder(s).")


commands = [send_reminders_command]
