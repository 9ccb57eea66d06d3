"""A passport's verification: its hash chain (app.domain.ledger) plus each entry's signature.

A chain hash anyone can recompute proves nothing against someone who can write the database, so
an entry counts as authentic only when it carries the atelier's Ed25519 signature or precedes
a signed entry (whose hash covers it through ``prev_hash``). Entries written before signing
began, with no signed entry after them, are *unsigned*: intact perhaps, but not vouched for.
Once a passport has a signed entry every later one must be signed, so removing signatures from
a rewritten tail is reported as broken, not as unsigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.domain import ledger
from app.provenance import signing


@dataclass(frozen=True)
class SealedEntry:
    """What verification needs of a stored entry besides its chain link."""

    seq: int
    hash: str
    signature: str | None


@dataclass(frozen=True)
class PassportReport:
    length: int
    head_hash: str
    head_signature: str | None
    breaks: tuple[ledger.Break, ...] = field(default=())
    unsigned: tuple[int, ...] = field(default=())  # seqs no valid signature vouches for

    @property
    def ok(self) -> bool:
        """Verified: nothing broken and every entry vouched for by the atelier's key."""
        return not self.breaks and not self.unsigned

    @property
    def status(self) -> str:
        if self.breaks:
            return "broken"
        return "unsigned" if self.unsigned else "ok"

    @property
    def first_break(self) -> ledger.Break | None:
        return self.breaks[0] if self.breaks else None


def check(
    chain: ledger.ChainReport,
    entries: Sequence[SealedEntry],
    public_key: signing.PublicKey,
) -> PassportReport:
    """Add the signature checks to a chain report; breaks come out ordered by entry."""
    breaks = list(chain.breaks)
    last_signed = 0
    for entry in entries:
        if entry.signature is None:
            continue
        last_signed = entry.seq
        if not signing.verify(public_key, entry.hash, entry.signature):
            breaks.append(
                ledger.Break(
                    entry.seq,
                    "signature does not verify: the entry or its seal was rewritten "
                    "without the atelier's signing key",
                )
            )
    unsigned = []
    for entry in entries:
        if entry.signature is not None:
            continue
        if entry.seq < last_signed:
            continue  # vouched for by the signed entry after it
        if last_signed:
            breaks.append(
                ledger.Break(entry.seq, "signature missing after signed entries (it was removed)")
            )
        else:
            unsigned.append(entry.seq)
    breaks.sort(key=lambda b: b.seq)  # stable: within one entry, the chain's own reasons first
    return PassportReport(
        length=chain.length,
        head_hash=chain.head_hash,
        head_signature=entries[-1].signature if entries else None,
        breaks=tuple(breaks),
        unsigned=tuple(unsigned),
    )
