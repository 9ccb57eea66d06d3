"""Tamper-evident history: canonical serialisation, SHA-256 chaining and verification.

Every entry of a chain stores the hash of the entry before it (``prev_hash``) and its own hash,
SHA-256 over the canonical JSON of ``{"prev": prev_hash, "body": body}``. Canonical means:
keys sorted, no insignificant whitespace, UTF-8, and only JSON's exact types (str, int, bool,
None, lists and objects with string keys). Floats are refused because their text form is not
stable across platforms; amounts and weights are integers (minor units, milligrams).

Changing any stored byte of an entry changes its recomputed hash; replacing an entry and its
hash breaks the next entry's ``prev_hash``; deleting the last entries is caught by comparing with
the head the caller recorded separately (e.g. printed on a certificate).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GENESIS_HASH = "0" * 64


class LedgerError(ValueError):
    """A value cannot be serialised canonically (a float, a non-string key, an unknown type)."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        raise LedgerError(f"{path}: floats are not allowed in ledger entries (use integers)")
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise LedgerError(f"{path}: object keys must be strings, got {key!r}")
            _check(item, f"{path}.{key}")
        return
    raise LedgerError(f"{path}: {type(value).__name__} cannot go into a ledger entry")


def canonical_json(value: Any) -> bytes:
    """Serialise to canonical JSON bytes: sorted keys, compact separators, UTF-8, no floats."""
    _check(value, "$")
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def entry_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """The hash sealing ``body`` onto a chain whose previous entry hashed to ``prev_hash``."""
    return hashlib.sha256(canonical_json({"prev": prev_hash, "body": body})).hexdigest()


@dataclass(frozen=True, slots=True)
class Link:
    """One stored entry as read back: its position, the two stored hashes and its content."""

    seq: int
    prev_hash: str
    hash: str
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Break:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"entry #{self.seq}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    length: int
    head_hash: str
    breaks: tuple[Break, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.breaks


def next_link(chain_head: str, seq: int, body: Mapping[str, Any]) -> Link:
    """Build the link that appends ``body`` as entry ``seq`` after ``chain_head``."""
    return Link(seq=seq, prev_hash=chain_head, hash=entry_hash(chain_head, body), body=body)


def verify_chain(
    links: Sequence[Link],
    *,
    expected_head: str | None = None,
    expected_length: int | None = None,
) -> ChainReport:
    """Check every link of a chain (in stored order) and name each one that is broken.

    A link is broken when its sequence number is not the next one, when its ``prev_hash`` is not
    the stored hash of the entry before it, or when its content no longer hashes to its stored
    hash. ``expected_head``/``expected_length`` (recorded elsewhere) catch a truncated chain.
    """
    breaks: list[Break] = []
    previous = GENESIS_HASH
    for position, link in enumerate(links, start=1):
        if link.seq != position:
            breaks.append(
                Break(
                    link.seq,
                    f"out of sequence: expected entry #{position} here "
                    "(an entry was removed or inserted)",
                )
            )
        if link.prev_hash != previous:
            what = "the chain's start" if position == 1 else f"entry #{position - 1}"
            breaks.append(
                Break(
                    link.seq,
                    f"link to {what} is broken: prev_hash {link.prev_hash[:12]}… does not match "
                    f"{previous[:12]}… ({what} was altered, replaced or removed)",
                )
            )
        try:
            recomputed = entry_hash(link.prev_hash, link.body)
        except LedgerError as exc:
            breaks.append(Break(link.seq, f"content cannot be serialised: {exc}"))
        else:
            if recomputed != link.hash:
                breaks.append(
                    Break(
                        link.seq,
                        f"content altered: stored hash {link.hash[:12]}… but the content "
                        f"hashes to {recomputed[:12]}…",
                    )
                )
        # Continue from the stored hash so one altered entry is named once, not every later one.
        previous = link.hash
    head = links[-1].hash if links else GENESIS_HASH
    last_seq = links[-1].seq if links else 0
    if expected_length is not None and expected_length != len(links):
        breaks.append(
            Break(
                last_seq,
                f"the chain holds {len(links)} entries but {expected_length} were recorded "
                "(entries were removed or added outside the ledger)",
            )
        )
    elif expected_head is not None and expected_head != head:
        breaks.append(
            Break(
                last_seq,
                f"head hash {head[:12]}… differs from the recorded head {expected_head[:12]}…",
            )
        )
    return ChainReport(length=len(links), head_hash=head, breaks=tuple(breaks))
