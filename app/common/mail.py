"""Outgoing mail: rendered from templates with text and HTML parts, delivered from the outbox.

``send_mail_after_commit`` renders the message now (inside the request, where the templates'
context is) and adds it to the outbox in the current transaction; once that commits, delivery
runs on the RQ worker (REDIS_URL set) or right here (no Redis). See ``app.common.outbox``.

The last step is the transport: by default each message is written as an .eml file to the
outbox folder (MAIL_OUTBOX_DIR); with DIADEM_MAIL_TRANSPORT=smtp it goes through Flask-Mail to
MAIL_SERVER.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from flask_mail import Attachment, Message

from app.common import jobs, outbox, request_ids
from app.common.outbox import OutboxMessage, StoredAttachment
from app.common.scheduling import ScheduledJob
from app.common.transactions import on_commit
from app.extensions import mail

log = logging.getLogger(__name__)


def transmit(message: Message) -> None:
    """Hand one message to the configured transport (raises what the transport raises)."""
    if current_app.config["MAIL_TRANSPORT"] == "smtp":
        mail.send(message)
        return
    folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(message.as_bytes())
    log.info("Mail to %s (%s) written to %s", message.recipients, message.subject, path)


def send_mail_after_commit(
    *,
    to: str,
    subject: str,
    template: str,
    attachments: list[Attachment] | None = None,
    dedupe_key: str | None = None,
    **context: Any,
) -> None:
    """Queue the mail in the enclosing atomic(); it is delivered once that commits.

    A rollback takes the message back with the change. A mail server that is down delays the
    message (the outbox retries it), never the change. ``dedupe_key`` makes a second message
    with the same key a no-op, for mail that must go at most once.
    """
    message = outbox.add_message(
        recipient=to,
        subject=subject,
        template=template,
        text_body=render_template(f"email/{template}.txt", **context),
        html_body=render_template(f"email/{template}.html", **context),
        attachments=[_stored(a) for a in attachments or []],
        dedupe_key=dedupe_key,
        request_id=request_ids.current(),
    )
    if message is not None:
        message_id = message.id
        on_commit(lambda: jobs.run_soon(deliver_outbox, message_ids=[message_id]))


def deliver_outbox(
    *, message_ids: list[int] | None = None, now: datetime | None = None
) -> outbox.DeliveryReport:
    """Deliver due outbox messages (these ones only, if named): the job behind every mail."""
    return outbox.deliver_due(send=_transmit_stored, message_ids=message_ids, now=now)


def sweep_outbox(*, now: datetime) -> str:
    """Deliver every due message: retries whose time has come, anything a lost job left."""
    report = deliver_outbox(now=now)
    return (
        f"Sent {report.sent} queued message(s), {report.failed} failed"
        f"{f', {report.gave_up} given up' if report.gave_up else ''}."
    )


# Workers sweep between jobs too; the scheduler's sweep covers hosts that run no worker.
outbox_sweep_job = ScheduledJob(name="outbox-sweep", every_seconds=60, run=sweep_outbox)


def _stored(attachment: Attachment) -> StoredAttachment:
    data = attachment.data
    return StoredAttachment(
        filename=attachment.filename or "attachment",
        content_type=attachment.content_type or "application/octet-stream",
        disposition=attachment.disposition or "attachment",
        data=data.encode() if isinstance(data, str) else data,
    )


def _transmit_stored(row: OutboxMessage) -> None:
    message = Message(
        subject=row.subject,
        recipients=[row.recipient],
        body=row.text_body,
        html=row.html_body,
        attachments=[
            Attachment(
                filename=a.filename,
                content_type=a.content_type,
                data=a.data,
                disposition=a.disposition,
            )
            for a in map(StoredAttachment.from_json, row.attachments or [])
        ],
    )
    message.msgId = row.message_id_header
    transmit(message)


def read_outbox(outbox_dir: str) -> list[Any]:
    """Parse the outbox folder's messages, oldest first (for tests and the developer)."""
    import email
    from email import policy

    paths = sorted(Path(outbox_dir).glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in paths]
