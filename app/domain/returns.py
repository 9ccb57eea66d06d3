"""Returns: who may send a piece back, when, and how a returned piece is inspected.

The one source of the returns policy: the checks below and the wording the policy page and the
return page print (``POLICY_RULES``) are defined together, so the page cannot promise what the
code refuses. The window itself (14 studio days from the delivery day) is
``app.domain.aftersale.return_window``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.domain import aftersale

STUDIO = "studio"  # a numbered piece of a limited edition
CUSTOM = "custom"  # a made-to-measure commission

# (code, label, is a fault): what the buyer chooses on the return form.
REASONS: tuple[tuple[str, str, bool], ...] = (
    ("changed_mind", "I changed my mind", False),
    ("fit", "It does not fit as I hoped", False),
    ("not_as_described", "It is not as described", False),
    ("fault", "A fault in the making (stones, clasp, finish, hallmark)", True),
    ("damaged", "It arrived damaged", True),
)
REASON_CODES: tuple[str, ...] = tuple(code for code, _, _ in REASONS)
FAULT_REASONS: frozenset[str] = frozenset(code for code, _, fault in REASONS if fault)

# The policy's rules, in the words the policy page and the return page print.
POLICY_RULES: tuple[tuple[str, str], ...] = (
    (
        STUDIO,
        f"Limited-edition pieces may be returned unworn within {aftersale.RETURN_DAYS} days of "
        "delivery (the day of delivery is day 0), in their box with the certificate and "
        "hangtag, for a refund of the goods value.",
    ),
    (
        CUSTOM,
        "Custom commissions are made to your measurements: they cannot be returned except for "
        f"a fault in the making, reported within {aftersale.RETURN_DAYS} days of delivery; "
        "otherwise we will always offer an adjustment instead.",
    ),
)
POLICY_TEXT: dict[str, str] = dict(POLICY_RULES)

# The return inspection, like QC: every item must hold for a pass.
INSPECTION_ITEMS: tuple[tuple[str, str], ...] = (
    ("hallmark_intact", "Hallmark intact and legible"),
    ("no_new_damage", "No damage beyond the reported fault"),
    ("stones_secure", "Stones present and secure"),
    ("packaging_complete", "Box, pouch, certificate and hangtag all returned"),
)
INSPECTION_KEYS: tuple[str, ...] = tuple(key for key, _ in INSPECTION_ITEMS)


@dataclass(frozen=True)
class Decision:
    """Whether a line may be returned, and why not (for the buyer) when it may not."""

    allowed: bool
    reason: str = ""


def may_return(*, line_kind: str, reason_is_fault: bool) -> Decision:
    """The policy's rule for one line: studio pieces for any reason, commissions for faults."""
    if line_kind == STUDIO:
        return Decision(True)
    if line_kind == CUSTOM:
        if reason_is_fault:
            return Decision(True)
        return Decision(False, POLICY_TEXT[CUSTOM])
    raise ValueError(f"Unknown line kind {line_kind!r}")


def is_fault(reason_code: str) -> bool:
    if reason_code not in REASON_CODES:
        raise ValueError(f"Unknown return reason {reason_code!r}")
    return reason_code in FAULT_REASONS


@dataclass(frozen=True)
class WindowState:
    """Where an order stands against the return window, with the dates the buyer is told."""

    open: bool
    delivered_on: date | None
    last_day: date | None
    message: str  # why the window is closed (empty when open)


def window_state(*, delivered_at: datetime | None, now: datetime, zone: ZoneInfo) -> WindowState:
    """Whether a return may be asked for at ``now`` (naive UTC), counted from delivery."""
    if delivered_at is None:
        return WindowState(
            False,
            None,
            None,
            f"Returns open once the parcel is delivered, for {aftersale.RETURN_DAYS} days "
            "from the day of delivery.",
        )
    window = aftersale.return_window(delivered_at=delivered_at, zone=zone)
    delivered_on = aftersale.delivery_day(delivered_at=delivered_at, zone=zone)
    if window.is_open(now=now):
        return WindowState(True, delivered_on, window.last_day, "")
    return WindowState(
        False,
        delivered_on,
        window.last_day,
        f"Delivered on {delivered_on:%-d %B %Y}: the {aftersale.RETURN_DAYS}-day return window "
        f"closed at the end of {window.last_day:%-d %B %Y}.",
    )


class InspectionRefused(ValueError):
    """An inspection that cannot be recorded as given; the message says why."""


def check_inspection(items: Iterable[str], *, passed: bool) -> tuple[str, ...]:
    """The ticked items in checklist order; a pass needs every item ticked."""
    ticked = set(items)
    unknown = ticked - set(INSPECTION_KEYS)
    if unknown:
        raise InspectionRefused("Unknown inspection item.")
    missing = [label for key, label in INSPECTION_ITEMS if key not in ticked]
    if passed and missing:
        raise InspectionRefused(
            "A pass needs every item ticked; not ticked: " + "; ".join(missing) + "."
        )
    return tuple(key for key in INSPECTION_KEYS if key in ticked)
