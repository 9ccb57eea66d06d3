"""Reference numbers people read aloud or type: orders, consultations, repairs, passports."""

from __future__ import annotations

import secrets

# Digits and capitals without the look-alikes 0/O and 1/I/L, so a reference survives a phone call.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_reference(prefix: str = "", *, length: int = 6) -> str:
    """A random reference such as ``DIA-7K3QRT`` (``prefix`` plus ``length`` characters)."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_code(length: int) -> str:
    """A lower-case random code for URLs (passports), from the same alphabet."""
    return new_reference(length=length).lower()


def is_code(value: str, *, max_length: int) -> bool:
    """Whether ``value`` could be a code made by ``new_code`` (cheap check before a query)."""
    alphabet = ALPHABET.lower()
    return 0 < len(value) <= max_length and all(c in alphabet for c in value)
