"""Outgoing mail: rendered from templates with text and HTML parts.

In development messages are written as .eml files to the outbox folder (MAIL_OUTBOX_DIR);
with DIADEM_MAIL_TRANSPORT=smtp they go through Flask-Mail to MAIL_SERVER.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from flask_mail import Attachment, Message

from app.common.transactions import on_commit
from app.extensions import mail


def send_mail(
    *,
    to: str,
    subject: str,
    template: str,
    attachments: list[Attachment] | None = None,
    **context: Any,
) -> Message:
    """Render templates/email/<template>.txt and .html and send them to one recipient."""
    message = Message(
        subject=subject,
        recipients=[to],
        body=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
        attachments=attachments or [],
    )
    if current_app.config["MAIL_TRANSPORT"] == "smtp":
        mail.send(message)
    else:
        outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(message.as_bytes())
        current_app.logger.info("Mail to %s (%s) written to %s", to, subject, path)
    return message


def send_mail_after_commit(
    *,
    to: str,
    subject: str,
    template: str,
    attachments: list[Attachment] | None = None,
    **context: Any,
) -> None:
    """Send the mail once the enclosing atomic() commits; a failure is logged, never raised.

    The change that caused the mail stands whatever the mail server does (staff can resend).
    """

    def send() -> None:
        try:
            send_mail(to=to, subject=subject, template=template, attachments=attachments, **context)
        except Exception:  # SMTP down, a template bug: log it, the committed work stands
            current_app.logger.exception("Could not send %r to %s", subject, to)

    on_commit(send)


def read_outbox(outbox_dir: str) -> list[Any]:
    """Parse the outbox's messages, oldest first (for tests and the developer)."""
    import email
    from email import policy

    paths = sorted(Path(outbox_dir).glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in paths]
