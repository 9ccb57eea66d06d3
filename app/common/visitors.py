"""Who a visitor is, for limits counted per buyer (piece holds, consultation holds): a random
key per browser session, and the mailbox an address reaches."""

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


def email_key(email: str) -> str:
    """The address as one mailbox: trimmed, lower case, no +tag ("Ada+x@Ex.com" -> ada@ex.com).

    Sub-addresses reach the same inbox, so they count as the same buyer.
    """
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return domain
    return f"{local.split('+', 1)[0] or local}@{domain}"
