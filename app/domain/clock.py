"""Time conventions: the database stores naive UTC datetimes; zones are applied for display."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time as a naive UTC datetime, the form every DateTime column holds."""
    return datetime.now(UTC).replace(tzinfo=None)
