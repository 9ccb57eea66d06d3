"""Scheduled jobs started on several hosts at once: one run works, the others skip.

On PostgreSQL, each run holds an advisory lock named after its job; the reminder claims and
the outbox's dedupe key keep every reminder to one email whatever the timing.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from app.booking import services
from app.common import scheduling
from app.common.locks import try_name_lock
from app.common.mail import read_outbox
from app.common.outbox import OutboxMessage
from app.common.transactions import atomic
from app.extensions import db
from tests.booking.builders import NOW, make_request
from tests.conftest import POSTGRES_URL
from tests.helpers import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs DIADEM_TEST_DATABASE_URL (PostgreSQL)"),
]

EVENING = datetime(2027, 3, 1, 18, 0)  # the evening before three Tuesday bookings
CUSTOMERS = ["r0@example.com", "r1@example.com", "r2@example.com"]


@pytest.fixture
def booked(pg_studio):
    with pg_studio.app_context(), atomic():
        for email, (hour, minute) in zip(CUSTOMERS, ((10, 0), (11, 15), (12, 30)), strict=True):
            held = services.book_consultation(
                request=make_request(datetime(2027, 3, 2, hour, minute), email=email),
                user_id=None,
                now=NOW,
            )
            services.confirm_booking(consultation_id=held.id, now=NOW)
    return pg_studio


def _schedulers_together(app, names: list[str], hosts: int = 2) -> list[list[scheduling.JobRun]]:
    """Start ``hosts`` scheduler runs of these jobs at the same moment, each on its own session."""

    def host(i: int) -> list[scheduling.JobRun]:
        return scheduling.run_jobs(
            [job for job in scheduling.registered_jobs() if job.name in names], now=EVENING
        )

    return race(hosts, host, app=app)


def _slow_mail_server(monkeypatch) -> None:
    """Each email takes a while, so the first run still holds its lock when the second asks."""
    from app.common import mail

    transmit = mail.transmit

    def slow(message):
        time.sleep(0.3)
        transmit(message)

    monkeypatch.setattr(mail, "transmit", slow)


def _reminder_rows(app) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db.session.execute(
            db.select(OutboxMessage).where(OutboxMessage.template == "consultation_reminder")
        ).scalars()
        return sorted((m.recipient, m.attempts) for m in rows if m.sent_at is not None)


def test_two_schedulers_started_together_send_each_reminder_once(booked, monkeypatch):
    _slow_mail_server(monkeypatch)
    before = len(read_outbox(booked.config["MAIL_OUTBOX_DIR"]))
    first, second = _schedulers_together(booked, ["send-reminders"])
    runs = sorted([*first, *second], key=lambda run: run.ran)
    assert [run.ran for run in runs] == [False, True]
    assert runs[0].summary == "skipped, another host is running it"
    assert "Sent 3 consultation reminder(s)." in runs[1].summary
    mails = read_outbox(booked.config["MAIL_OUTBOX_DIR"])[before:]
    assert sorted(m["To"] for m in mails) == CUSTOMERS
    assert _reminder_rows(booked) == [(email, 1) for email in CUSTOMERS]


def test_every_scheduled_job_at_once_on_three_hosts_still_sends_each_reminder_once(booked):
    before = len(read_outbox(booked.config["MAIL_OUTBOX_DIR"]))
    names = [job.name for job in booked.extensions["diadem.scheduled_jobs"].values()]
    assert set(names) == {
        "send-reminders",
        "expire-booking-holds",
        "expire-reservations",
        "outbox-sweep",
        "settle-repair-refunds",
        "sweep-photo-sizes",
    }
    results = _schedulers_together(booked, names, hosts=3)
    assert all(not run.summary.startswith("failed") for runs in results for run in runs)
    mails = read_outbox(booked.config["MAIL_OUTBOX_DIR"])[before:]
    assert sorted(m["To"] for m in mails) == CUSTOMERS


def test_a_command_skips_while_another_host_holds_the_job(booked, runner):
    with booked.app_context(), try_name_lock("scheduled-job:send-reminders") as got:
        assert got
        skipped = runner.invoke(args=["send-reminders"])
    assert skipped.output.strip() == "skipped, another host is running it"
    with booked.app_context(), try_name_lock("scheduled-job:send-reminders") as got:
        assert got  # released by the holder, so it can be taken again
