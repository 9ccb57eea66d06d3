"""The mail outbox: messages written in the transaction that causes them, delivered after it.

A service that emails someone adds an ``OutboxMessage`` row in its own transaction, so the
email exists exactly when the change does: a rollback takes it back, a crash after the commit
cannot lose it. Delivery claims due rows one at a time and marks each sent (or schedules its
retry) in the same transaction as the claim:

- on PostgreSQL the claim is ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent senders (the
  web process after its commit, RQ workers, the scheduler's sweep) take disjoint rows;
- on SQLite, which has no row locks, a compare-and-set ``UPDATE ... WHERE attempts = :seen``
  takes the database's single write lock and tells a second sender to skip the row.

A failed send is retried with exponential backoff (OUTBOX_RETRY_SECONDS, doubling, at most
OUTBOX_RETRY_MAX_SECONDS) until OUTBOX_MAX_ATTEMPTS, then the row is marked failed and stays
for staff (``flask outbox list --failed``, ``flask outbox retry``). If a process dies between
the SMTP server accepting a message and the commit, the row is sent again later: the stable
Message-ID lets mail clients fold the duplicate.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.common.transactions import NoTransaction, atomic, in_atomic
from app.domain.clock import utcnow
from app.extensions import db

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_RETRY_SECONDS = 60
DEFAULT_RETRY_MAX_SECONDS = 6 * 60 * 60
UNSENT = text("sent_at IS NULL AND failed_at IS NULL")


class OutboxMessage(db.Model):
    """One email, rendered when it was queued, waiting for (or done with) delivery."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The senders' query: unsent rows by due time; sent rows (the bulk) stay out of it.
        Index(
            "ix_outbox_messages_due",
            "next_attempt_at",
            sqlite_where=UNSENT,
            postgresql_where=UNSENT,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    template: Mapped[str] = mapped_column(String(100))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # [{"filename", "content_type", "disposition", "data": base64}], e.g. calendar invites.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Set where a caller needs at most one such message ever (a consultation's reminder).
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    @property
    def status(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        return "retrying" if self.attempts else "queued"

    @property
    def message_id_header(self) -> str:
        """A Message-ID that stays the same on every attempt, so a resend can be recognised."""
        created = self.created_at.strftime("%Y%m%d%H%M%S") if self.created_at else "0"
        return f"<outbox.{self.id}.{created}@diadem>"


@dataclass(frozen=True)
class StoredAttachment:
    filename: str
    content_type: str
    data: bytes
    disposition: str = "attachment"

    def to_json(self) -> dict[str, str]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "disposition": self.disposition,
            "data": base64.b64encode(self.data).decode("ascii"),
        }

    @classmethod
    def from_json(cls, value: dict[str, str]) -> StoredAttachment:
        return cls(
            filename=value["filename"],
            content_type=value["content_type"],
            disposition=value.get("disposition") or "attachment",
            data=base64.b64decode(value["data"]),
        )


def add_message(
    *,
    recipient: str,
    subject: str,
    template: str,
    text_body: str,
    html_body: str,
    attachments: Sequence[StoredAttachment] = (),
    dedupe_key: str | None = None,
    request_id: str | None = None,
) -> OutboxMessage | None:
    """Queue one message in the current transaction; None if ``dedupe_key`` was queued before.

    Raises:
        NoTransaction: outside ``atomic()``, where nothing would commit the row.
    """
    if not in_atomic():
        raise NoTransaction("add_message() needs an enclosing atomic() block")
    now = utcnow()
    message = OutboxMessage(
        recipient=recipient,
        subject=subject,
        template=template,
        text_body=text_body,
        html_body=html_body,
        attachments=[a.to_json() for a in attachments],
        dedupe_key=dedupe_key,
        request_id=request_id,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
    )
    if dedupe_key is None:
        db.session.add(message)
        db.session.flush()
        return message
    try:
        with atomic():  # a savepoint: a duplicate key undoes only this insert
            db.session.add(message)
            db.session.flush()
    except IntegrityError:
        return None
    return message


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # attempts that failed this time (retrying or given up)
    gave_up: int = 0


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: base, doubling, capped."""
    config = current_app.config
    base = int(config.get("OUTBOX_RETRY_SECONDS", DEFAULT_RETRY_SECONDS))
    ceiling = int(config.get("OUTBOX_RETRY_MAX_SECONDS", DEFAULT_RETRY_MAX_SECONDS))
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, attempts - 1)))


def max_attempts() -> int:
    return int(current_app.config.get("OUTBOX_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def deliver_due(
    *,
    send: Callable[[OutboxMessage], object],
    now: datetime | None = None,
    message_ids: Sequence[int] | None = None,
    limit: int = 200,
) -> DeliveryReport:
    """Send due messages (only ``message_ids`` if given), one transaction per message.

    Opens its own transactions, so call it outside ``atomic()`` (after a commit, in a job).
    """
    report = DeliveryReport()
    tried: set[int] = set()
    for _ in range(limit):
        with atomic():
            message = _claim_next(now=now or utcnow(), only=message_ids, tried=tried)
            if message is None:
                break
            tried.add(message.id)
            _attempt(message, send=send, now=now or utcnow(), report=report)
    return report


def _claim_next(
    *, now: datetime, only: Sequence[int] | None, tried: set[int]
) -> OutboxMessage | None:
    """Claim the next due message for this transaction, or None when none is left.

    Counting the attempt is the claim: a compare-and-set on ``attempts`` (the row lock already
    makes it ours on PostgreSQL; on SQLite it is what turns a second sender away).
    """
    query = (
        db.select(OutboxMessage.id, OutboxMessage.attempts)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if only is not None:
        query = query.where(OutboxMessage.id.in_(list(only)))
    if tried:
        query = query.where(OutboxMessage.id.not_in(tried))
    while (row := db.session.execute(query).first()) is not None:
        message_id, seen = row
        table = OutboxMessage.__table__
        claimed = db.session.execute(
            update(table)
            .where(table.c.id == message_id, table.c.attempts == seen, table.c.sent_at.is_(None))
            .values(attempts=seen + 1)
        ).rowcount
        if claimed == 1:
            return db.session.get_one(OutboxMessage, message_id, populate_existing=True)
        tried.add(message_id)  # another sender took it between our read and our write
        query = query.where(OutboxMessage.id != message_id)
    return None


def _attempt(
    message: OutboxMessage,
    *,
    send: Callable[[OutboxMessage], object],
    now: datetime,
    report: DeliveryReport,
) -> None:
    try:
        send(message)
    except Exception as exc:  # SMTP down, a refused address: record it, retry later
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        report.failed += 1
        if message.attempts >= max_attempts():
            message.failed_at = now
            report.gave_up += 1
            log.error(
                "Outbox message %s to %s failed for good: %s",
                message.id,
                message.recipient,
                message.last_error,
            )
        else:
            message.next_attempt_at = now + retry_delay(message.attempts)
            log.warning(
                "Outbox message %s to %s failed (attempt %s), retrying at %s: %s",
                message.id,
                message.recipient,
                message.attempts,
                message.next_attempt_at,
                message.last_error,
            )
        return
    message.sent_at = now
    report.sent += 1
    log.info("Outbox message %s (%s) sent to %s", message.id, message.subject, message.recipient)


def requeue(*, message_ids: Sequence[int] | None = None, now: datetime | None = None) -> int:
    """Give failed (or all unsent, if ids are named) messages a fresh set of attempts now."""
    table = OutboxMessage.__table__
    statement = update(table).where(table.c.sent_at.is_(None))
    if message_ids is None:
        statement = statement.where(table.c.failed_at.is_not(None))
    else:
        statement = statement.where(table.c.id.in_(list(message_ids)))
    return db.session.execute(
        statement.values(failed_at=None, attempts=0, next_attempt_at=now or utcnow())
    ).rowcount


def unsent_messages(*, failed_only: bool = False, limit: int = 100) -> list[OutboxMessage]:
    """Messages not sent yet (or only those given up on), oldest first, for staff."""
    query = db.select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    if failed_only:
        query = query.where(OutboxMessage.failed_at.is_not(None))
    return list(db.session.execute(query.order_by(OutboxMessage.id).limit(limit)).scalars())
