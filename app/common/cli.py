"""Process commands: the RQ worker, the scheduler, and the outbox for staff.

flask --app wsgi worker            deliver mail (and other jobs) from Redis
flask --app wsgi scheduler         run the periodic jobs, each on its own period, forever
flask --app wsgi run-scheduled     run every periodic job once (for cron)
flask --app wsgi outbox list|retry what is waiting or failed, and send it again
"""

from __future__ import annotations

import logging
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from app.common import jobs, outbox, request_ids, scheduling
from app.common.mail import deliver_outbox
from app.common.transactions import atomic
from app.domain.clock import utcnow


def _log_to_stderr() -> None:
    """Long-running commands log INFO lines, with request ids, to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    request_ids.configure_handler(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--sweep-seconds", default=60, show_default=True, help="Outbox sweep period.")
@with_appcontext
def worker_command(burst: bool, sweep_seconds: int) -> None:
    """Run an RQ worker: jobs from Redis, each in an app context; sweeps the outbox too."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: mail is delivered in-process.")
    _log_to_stderr()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = jobs.make_worker(app, maintenance=deliver_outbox, sweep_seconds=sweep_seconds)
    worker.work(burst=burst)


def _selected(names: tuple[str, ...]) -> list[scheduling.ScheduledJob]:
    available = {job.name: job for job in scheduling.registered_jobs()}
    unknown = set(names) - set(available)
    if unknown:
        raise click.BadParameter(
            f"unknown job(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(available))}"
        )
    return [available[name] for name in names] if names else list(available.values())


@click.command("run-scheduled")
@click.option("--job", "names", multiple=True, help="Only this job (repeatable).")
@with_appcontext
def run_scheduled_command(names: tuple[str, ...]) -> None:
    """Run each periodic job once; a job another host is running is skipped."""
    for run in scheduling.run_jobs(_selected(names)):
        click.echo(run.line())


@click.command("scheduler")
@click.option("--tick", default=15.0, show_default=True, help="Seconds between checks.")
@click.option("--job", "names", multiple=True, help="Only this job (repeatable).")
@with_appcontext
def scheduler_command(tick: float, names: tuple[str, ...]) -> None:
    """Run the periodic jobs forever, each on its period; safe to start on several hosts."""
    _log_to_stderr()
    selected = _selected(names)
    click.echo("Scheduling " + ", ".join(f"{j.name} every {j.every_seconds}s" for j in selected))
    scheduling.loop(selected, tick_seconds=tick, report=lambda run: None)


@click.group("outbox")
def outbox_group() -> None:
    """The mail outbox: what is waiting or failed, and sending it again."""


@outbox_group.command("list")
@click.option("--failed", "failed_only", is_flag=True, help="Only messages given up on.")
@with_appcontext
def list_command(failed_only: bool) -> None:
    """List unsent messages, oldest first."""
    messages = outbox.unsent_messages(failed_only=failed_only)
    for message in messages:
        click.echo(
            f"#{message.id} {message.status} to {message.recipient} ({message.subject}); "
            f"attempts {message.attempts}, next {message.next_attempt_at:%Y-%m-%d %H:%M}"
            f"{f'; last error: {message.last_error}' if message.last_error else ''}"
        )
    click.echo(f"{len(messages)} unsent message(s).")


@outbox_group.command("retry")
@click.argument("message_ids", nargs=-1, type=int)
@with_appcontext
def retry_command(message_ids: tuple[int, ...]) -> None:
    """Give failed messages (or the unsent ones named) fresh attempts, and send them now."""
    with atomic():
        count = outbox.requeue(message_ids=list(message_ids) or None)
    report = deliver_outbox(now=utcnow())
    click.echo(f"Requeued {count} message(s); sent {report.sent}, {report.failed} failed.")


commands = [worker_command, run_scheduled_command, scheduler_command, outbox_group]
