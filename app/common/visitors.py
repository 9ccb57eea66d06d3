"""Who a visitor is, for limits counted per buyer (piece holds, consultation holds): a random
key per browser session, and the mailbox an address reaches."""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, or_

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


@dataclass(frozen=True)
class Buyer:
    """Everything a buyer is known by: account, address, browser session (empty parts count
    for nothing). Per-buyer limits lock the buyer's names, then count the rows that match."""

    user_id: int | None = None
    email: str = ""
    session_key: str = ""

    @property
    def email_key(self) -> str:
        return email_key(self.email)

    def names(self, scope: str) -> list[str]:
        """Lock names for this buyer under one rule's ``scope`` (see ``locks.lock_names``)."""
        names = []
        if self.user_id is not None:
            names.append(f"{scope}:user:{self.user_id}")
        if self.email_key:
            names.append(f"{scope}:email:{self.email_key}")
        if self.session_key:
            names.append(f"{scope}:session:{self.session_key}")
        return names

    def matches(self, *, user_id: Any, email_key: Any, session_key: Any) -> ColumnElement[bool]:
        """SQL: a row with these columns belongs to this buyer by any of its names."""
        who = []
        if self.user_id is not None:
            who.append(user_id == self.user_id)
        if self.email_key:
            who.append(email_key == self.email_key)
        if self.session_key:
            who.append(session_key == self.session_key)
        return or_(*who) if who else false()
