"""After the sale: the return window and the repair warranty, counted from delivery.

Delivery is recorded as a naive UTC timestamp (the database's convention, ``app.domain.clock``);
the days are counted on the studio's calendar (``STUDIO_TIMEZONE``), because that is where a
returned parcel is received and where the policy is written. The day of delivery is day 0:
a piece delivered on 3 March (studio time) may be returned until the end of 17 March.

The warranty runs for whole calendar years from the delivery day. A piece delivered on
29 February is covered until 28 February of the end year when that year has no 29 February:
the warranty never reaches into a month the delivery did not start in, so it ends on the
last day of February rather than spilling into March (the same rule as ``relativedelta``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

RETURN_DAYS = 14  # limited-edition pieces, unworn, from the day of delivery
WARRANTY_YEARS = 2  # free repairs of workmanship faults, from the day of delivery


@dataclass(frozen=True)
class ReturnWindow:
    """The last studio-calendar day of the window and the UTC instant it closes."""

    last_day: date
    closes_at: datetime  # naive UTC: the first moment after last_day on the studio's clock

    def is_open(self, *, now: datetime) -> bool:
        """Whether a return may still be asked for at ``now`` (naive UTC)."""
        return now < self.closes_at


def delivery_day(*, delivered_at: datetime, zone: ZoneInfo) -> date:
    """The studio-calendar day of a delivery recorded as naive UTC."""
    return delivered_at.replace(tzinfo=UTC).astimezone(zone).date()


def return_window(
    *, delivered_at: datetime, zone: ZoneInfo, days: int = RETURN_DAYS
) -> ReturnWindow:
    """The return window: ``days`` whole studio days after the delivery day."""
    if days < 0:
        raise ValueError("A return window cannot be negative.")
    last_day = delivery_day(delivered_at=delivered_at, zone=zone) + timedelta(days=days)
    # Midnight after the last day on the studio's clock; zoneinfo picks the right offset even
    # when a clock change falls inside the window.
    local_close = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
    closes_at = local_close.astimezone(UTC).replace(tzinfo=None)
    return ReturnWindow(last_day=last_day, closes_at=closes_at)


class DeliveryDateError(ValueError):
    """A delivery date that cannot be recorded; the message is for the person who gave it."""


def delivery_instant(*, day: date, zone: ZoneInfo, shipped_at: datetime, now: datetime) -> datetime:
    """The naive UTC instant to record for a delivery on ``day`` of the studio calendar.

    Staff give the day, not the hour: it is recorded as noon studio time, kept between the
    shipment and now, so its studio day is always the one given.
    """
    shipped_day = delivery_day(delivered_at=shipped_at, zone=zone)
    if day > delivery_day(delivered_at=now, zone=zone):
        raise DeliveryDateError("The delivery date cannot be in the future.")
    if day < shipped_day:
        raise DeliveryDateError(
            f"The delivery date cannot be before the order shipped ({shipped_day:%-d %B %Y})."
        )
    noon = datetime.combine(day, time(12), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    return min(max(noon, shipped_at), now)


def add_years(day: date, years: int) -> date:
    """``day`` moved by whole years; 29 February becomes 28 February in a common year."""
    year = day.year + years
    last = calendar.monthrange(year, day.month)[1]
    return day.replace(year=year, day=min(day.day, last))


def warranty_end(*, delivered_at: datetime, zone: ZoneInfo, years: int = WARRANTY_YEARS) -> date:
    """The last day (studio calendar, inclusive) of free workmanship repairs."""
    if years < 0:
        raise ValueError("A warranty cannot be negative.")
    return add_years(delivery_day(delivered_at=delivered_at, zone=zone), years)


@dataclass(frozen=True)
class Cover:
    """Whether a repair is free (warranty or care plan), why, and until when."""

    covered: bool
    reason: str  # shown to staff as it is: "Covered: ..." / "Not covered: ..."
    until: date | None  # the last covered day, when covered


def _day(day: date) -> str:
    # The shop's one date format (app.common.dates): "12 May 2028".
    return f"{day.day} {day:%b %Y}"


def repair_cover(
    *,
    delivered_on: date | None,
    care_plan_ends_on: date | None = None,
    today: date,
    years: int = WARRANTY_YEARS,
) -> Cover:
    """Whether a repair asked for on ``today`` is covered, counted from the delivery day.

    The warranty runs ``years`` from ``delivered_on`` (inclusive, ``add_years``); a care plan,
    when the piece has one, covers until ``care_plan_ends_on`` (inclusive; ``date.max`` for a
    lifetime plan). Without a delivery on record (a walk-in piece sold elsewhere) only a care
    plan can cover it.
    """
    warranty_ends = add_years(delivered_on, years) if delivered_on is not None else None
    if warranty_ends is not None and today <= warranty_ends:
        return Cover(
            True,
            f"Covered: within the {years}-year warranty until {_day(warranty_ends)}.",
            warranty_ends,
        )
    if care_plan_ends_on == date.max:  # a lifetime plan never ends
        return Cover(True, "Covered: by the lifetime care plan.", care_plan_ends_on)
    if care_plan_ends_on is not None and today <= care_plan_ends_on:
        return Cover(
            True, f"Covered: by the care plan until {_day(care_plan_ends_on)}.", care_plan_ends_on
        )
    ended = []
    if warranty_ends is not None:
        ended.append(f"warranty ended {_day(warranty_ends)}")
    else:
        ended.append("no delivery on record, so no warranty")
    if care_plan_ends_on is not None:
        ended.append(f"care plan ended {_day(care_plan_ends_on)}")
    return Cover(False, f"Not covered: {', '.join(ended)}; quote must be paid.", None)
