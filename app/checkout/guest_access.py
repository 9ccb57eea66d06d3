"""Which orders a guest (no account) may open: those placed in this browser session.

The views pass their Flask ``session`` in as ``store``; nothing here reads the request.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

GUEST_ORDERS = "guest_orders"  # session key: numbers of the orders this guest placed here
MAX_GUEST_ORDERS = 20


def remember_guest_order(store: MutableMapping[str, Any], *, number: str) -> None:
    """Let this browser session open the guest order ``number`` again (newest last)."""
    numbers = [n for n in guest_order_numbers(store) if n != number]
    store[GUEST_ORDERS] = (numbers + [number])[-MAX_GUEST_ORDERS:]


def guest_order_numbers(store: Mapping[str, Any]) -> list[str]:
    """The guest orders this browser session placed, oldest first."""
    numbers = store.get(GUEST_ORDERS, [])
    return [n for n in numbers if isinstance(n, str)] if isinstance(numbers, list) else []
