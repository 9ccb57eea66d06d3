"""Tracking links for the carriers the atelier ships with.

Staff type the carrier as free text ("Royal Mail Special Delivery", "DHL Express"), so a carrier
is recognised by a whole-word name inside it. An unknown carrier has no link: the buyer sees the
tracking number alone, never a guessed URL.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# Most specific first: "Parcelforce Worldwide" is Royal Mail's parcel arm with its own tracker.
CARRIER_TRACKING: tuple[tuple[str, str], ...] = (
    ("parcelforce", "https://www.parcelforce.com/track-trace?trackNumber={number}"),
    ("royal mail", "https://www.royalmail.com/track-your-item#/tracking-results/{number}"),
    ("dhl", "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}"),
    ("fedex", "https://www.fedex.com/fedextrack/?trknbr={number}"),
    ("fed ex", "https://www.fedex.com/fedextrack/?trknbr={number}"),
    ("federal express", "https://www.fedex.com/fedextrack/?trknbr={number}"),
    ("ups", "https://www.ups.com/track?tracknum={number}"),
)
_PATTERNS = tuple(
    (re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE), template)
    for name, template in CARRIER_TRACKING
)


def tracking_url(*, carrier: str, tracking_number: str) -> str | None:
    """The carrier's tracking page for the number, or None for an unknown carrier."""
    number = tracking_number.strip()
    if not number:
        return None
    for pattern, template in _PATTERNS:
        if pattern.search(carrier):
            # Every character outside the unreserved set is encoded, "/" and "#" included, so
            # the number stays one path or query value whatever staff typed.
            return template.format(number=quote(number, safe=""))
    return None
