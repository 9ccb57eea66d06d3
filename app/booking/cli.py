"""Cron commands for consultations."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.booking import services
from app.domain.clock import utcnow


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Email reminders for consultations in the next 24 hours (safe to run again)."""
    sent = services.send_due_reminders(now=utcnow())
    click.echo(f"Sent {sent} consultation reminder(s).")


commands = [send_reminders_command]
