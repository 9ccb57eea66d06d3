"""The mail outbox: queued with the change, delivered after it, retried with backoff, once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.common.mail import deliver_outbox, read_outbox, send_mail_after_commit
from app.common.outbox import OutboxMessage, add_message
from app.common.transactions import NoTransaction, atomic
from app.extensions import db
from tests.helpers import race


def _queue(to: str = "a@example.com", **kwargs) -> None:
    send_mail_after_commit(
        to=to,
        subject=kwargs.pop("subject", "Reset"),
        template="password_reset",
        link="l",
        user=None,
        minutes=5,
        **kwargs,
    )


def _messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.execute(db.select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def _break_transport(monkeypatch) -> None:
    def refused(message):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("app.common.mail.transmit", refused)


def test_the_row_commits_with_the_change_and_is_sent_after_it(app):
    outbox = app.config["MAIL_OUTBOX_DIR"]
    with app.test_request_context():
        with pytest.raises(RuntimeError), atomic():
            _queue()
            raise RuntimeError("rolled back")
        assert _messages() == []
        with atomic():
            _queue()
            assert read_outbox(outbox) == []
            assert [m.status for m in _messages()] == ["queued"]
        [message] = _messages()
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)
    [mail] = read_outbox(outbox)
    assert mail["Subject"] == "Reset" and mail["Message-ID"] == message.message_id_header


def test_queueing_outside_a_transaction_is_refused(app_ctx):
    with pytest.raises(NoTransaction):
        add_message(
            recipient="a@example.com", subject="s", template="t", text_body="", html_body=""
        )


def test_a_dedupe_key_queues_at_most_one_message(app):
    with app.test_request_context():
        with atomic():
            _queue(dedupe_key="reminder:1")
            _queue(dedupe_key="reminder:1")  # a savepoint undoes only the duplicate
            _queue(to="b@example.com")
        with atomic():
            _queue(dedupe_key="reminder:1")
        assert [m.recipient for m in _messages()] == ["a@example.com", "b@example.com"]
    assert len(read_outbox(app.config["MAIL_OUTBOX_DIR"])) == 2


def test_failures_back_off_exponentially_then_stay_failed_for_staff(app, monkeypatch, runner):
    app.config.update(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_RETRY_SECONDS=60)
    _break_transport(monkeypatch)
    with app.test_request_context():
        with atomic():
            _queue()
        [message] = _messages()
        first_failure = message.next_attempt_at - timedelta(seconds=60)
        assert (message.status, message.attempts) == ("retrying", 1)
        assert "ConnectionRefusedError" in message.last_error
        assert deliver_outbox(now=message.next_attempt_at - timedelta(seconds=1)).failed == 0
        assert deliver_outbox(now=message.next_attempt_at).failed == 1
        [message] = _messages()
        assert message.attempts == 2
        assert message.next_attempt_at - first_failure >= timedelta(seconds=60 + 120)
        report = deliver_outbox(now=message.next_attempt_at)
        assert (report.failed, report.gave_up) == (1, 1)
        [message] = _messages()
        assert (message.status, message.attempts) == ("failed", 3)
        failed_id = message.id
        assert deliver_outbox(now=message.next_attempt_at + timedelta(days=30)).failed == 0
    listed = runner.invoke(args=["outbox", "list", "--failed"])
    assert f"#{failed_id} failed to a@example.com" in listed.output
    monkeypatch.undo()
    retried = runner.invoke(args=["outbox", "retry"])
    assert "Requeued 1 message(s); sent 1, 0 failed." in retried.output
    assert len(read_outbox(app.config["MAIL_OUTBOX_DIR"])) == 1
    assert "0 unsent message(s)." in runner.invoke(args=["outbox", "list"]).output


def test_the_scheduled_sweep_delivers_due_retries(app, monkeypatch, runner):
    app.config["OUTBOX_RETRY_SECONDS"] = 0  # due again at once
    _break_transport(monkeypatch)
    with app.test_request_context(), atomic():
        _queue()
    monkeypatch.undo()
    first = runner.invoke(args=["run-scheduled", "--job", "outbox-sweep"])
    second = runner.invoke(args=["run-scheduled", "--job", "outbox-sweep"])
    assert "outbox-sweep: Sent 1 queued message(s), 0 failed." in first.output
    assert "outbox-sweep: Sent 0 queued message(s), 0 failed." in second.output
    assert len(read_outbox(app.config["MAIL_OUTBOX_DIR"])) == 1


def test_attachments_survive_the_outbox(app):
    from flask_mail import Attachment

    invite = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    with app.test_request_context(), atomic():
        _queue(attachments=[Attachment("invite.ics", "text/calendar", invite)])
    [mail] = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "invite.ics" and part.get_payload(decode=True) == invite


def test_concurrent_senders_send_each_message_once(app, monkeypatch):
    """SKIP LOCKED on PostgreSQL, the compare-and-set claim on SQLite: no message twice."""
    count, senders = 12, 4
    _break_transport(monkeypatch)  # queue them undelivered, then let the senders race
    app.config["OUTBOX_RETRY_SECONDS"] = 0
    with app.test_request_context(), atomic():
        for i in range(count):
            _queue(to=f"r{i}@example.com")
    monkeypatch.undo()
    sent = race(senders, lambda i: deliver_outbox().sent, app=app)
    mails = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert sum(sent) == count
    assert sorted(m["To"] for m in mails) == sorted(f"r{i}@example.com" for i in range(count))
    with app.app_context():
        assert {(m.status, m.attempts) for m in _messages()} == {("sent", 2)}
