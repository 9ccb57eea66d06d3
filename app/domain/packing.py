"""The packing ritual: what goes in the box with every piece, checked off before it is packed."""

from __future__ import annotations

from collections.abc import Iterable

# (key, what staff tick) in the order the piece is packed.
PACKING_ITEMS: tuple[tuple[str, str], ...] = (
    ("pouch", "Soft pouch"),
    ("box", "Rigid box with foam supports"),
    ("care_card", "Care card signed by the artisan"),
    ("certificate", "Certificate of authenticity"),
    ("hangtag", "Hangtag with the passport QR code"),
)
PACKING_KEYS = tuple(key for key, _ in PACKING_ITEMS)
LABELS = dict(PACKING_ITEMS)


class PackingIncomplete(ValueError):
    """Something is missing from the box; the message names it."""


def check_packing(ticked: Iterable[str], *, has_photo: bool) -> tuple[str, ...]:
    """The ticked items in ritual order, or PackingIncomplete naming every missing one."""
    chosen = set(ticked)
    unknown = sorted(chosen - set(PACKING_KEYS))
    if unknown:
        raise PackingIncomplete(f"Unknown packing item(s): {', '.join(unknown)}.")
    missing = [LABELS[key] for key in PACKING_KEYS if key not in chosen]
    if not has_photo:
        missing.append("a photo of the packed piece")
    if missing:
        raise PackingIncomplete("Not packed yet; still missing: " + "; ".join(missing) + ".")
    return PACKING_KEYS
