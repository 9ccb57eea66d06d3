"""One random key per browser session, for limits counted "by session" (holds, bookings)."""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from typing import Any

VISITOR_KEY = "visitor"


def visitor_key(store: MutableMapping[str, Any]) -> str:
    """The session's visitor key, made on first use (pass Flask's ``session``)."""
    key = store.get(VISITOR_KEY)
    if not isinstance(key, str) or not 16 <= len(key) <= 64:
        key = secrets.token_urlsafe(18)
        store[VISITOR_KEY] = key
    return key
