"""Video meeting links: what the atelier may store and send to a customer as the place to meet.

A link travels into emails (as an ``href``) and calendar invites (URL and LOCATION), so only a
plain ``https://host/...`` address is accepted: no other scheme (``javascript:``, ``http:``,
``data:``), no ``user@`` part that could disguise the real host, no spaces or markup characters.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_LENGTH = 500
EXAMPLE = "https://meet.example.com/diadem-atelier"
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f<>\"'`\\]")
_HOST = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")  # a dotted host name (IDNs as xn--)


class InvalidMeetingLink(ValueError):
    """The text is not a link the atelier may send; the message says what to give instead."""


def clean_meeting_link(value: str | None) -> str | None:
    """The link as stored, or None for a blank one; InvalidMeetingLink if it is not https."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_LENGTH:
        raise InvalidMeetingLink(f"Keep the meeting link under {MAX_LENGTH} characters.")
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InvalidMeetingLink(_must_be_https()) from exc
    if _FORBIDDEN.search(text) or parts.scheme.lower() != "https" or port == 0:
        raise InvalidMeetingLink(_must_be_https())
    host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    if "@" in parts.netloc or not _HOST.fullmatch(host):
        raise InvalidMeetingLink(_must_be_https())
    return text


def _must_be_https() -> str:
    return f"Give the meeting link as a full https:// address, for example {EXAMPLE}."
