"""Checkout maintenance commands (run from cron or a scheduler)."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from app.checkout import services
from app.common.scheduling import ScheduledJob, run_job
from app.common.transactions import atomic
from app.domain.clock import utcnow


def expire_reservations(*, now: datetime) -> str:
    """Cancel unpaid orders whose reservation lapsed, one transaction each; say which."""
    with atomic():
        order_ids = services.lapsed_order_ids(now=now)
    numbers = []
    for order_id in order_ids:
        # One transaction per order: each holds its order and piece locks only briefly.
        with atomic():
            number = services.expire_order(order_id)
        if number is not None:
            numbers.append(number)
    return f"Expired {len(numbers)} order(s){': ' + ', '.join(numbers) if numbers else ''}."


expire_reservations_job = ScheduledJob(
    name="expire-reservations", every_seconds=5 * 60, run=expire_reservations
)
scheduled_jobs = [expire_reservations_job]


@click.command("expire-reservations")
@with_appcontext
def expire_reservations_command() -> None:
    """Cancel unpaid orders whose reservation lapsed and return their pieces to sale.

    Lapsed pieces are already sellable without this (reservation checks the time), so this
    only tidies order statuses and cancels abandoned card payments; run it every few minutes.
    """
    click.echo(run_job(expire_reservations_job, now=utcnow()).summary)


def format_unconfirmed(shipments: list[services.UnconfirmedShipment], *, days: int) -> str:
    """The chase list as plain text, one parcel a line (oldest shipment first)."""
    if not shipments:
        return f"No shipped order has waited {days} day(s) or more for a recorded delivery."
    lines = [f"{len(shipments)} shipped order(s) with no delivery after {days} day(s):"]
    lines += [
        f"{s.number}  {s.carrier}  {s.tracking_number}  shipped {s.shipped_at:%Y-%m-%d}  "
        f"{s.days_since} day(s) ago"
        for s in shipments
    ]
    return "\n".join(lines)


@click.command("follow-shipments")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="Days since shipping (default: FOLLOW_SHIPMENTS_DAYS, 7).",
)
@with_appcontext
def follow_shipments_command(days: int | None) -> None:
    """List shipped orders with no delivery recorded after N days, for staff to chase."""
    days = services.setting("FOLLOW_SHIPMENTS_DAYS") if days is None else days
    with atomic():
        shipments = services.unconfirmed_shipments(now=utcnow(), days=days)
    click.echo(format_unconfirmed(shipments, days=days))


commands = [expire_reservations_command, follow_shipments_command]


@click.command("launch-check")
@click.option("--strict", is_flag=True, help="Exit with status 1 while anything is a placeholder.")
@with_appcontext
def launch_check_command(strict: bool) -> None:
    """Warn, loudly, about placeholders that must not reach buyers (bank details, seller)."""
    problems = services.launch_problems()
    for problem in problems:
        click.secho(f"WARNING: {problem}", fg="red", bold=True, err=True)
    if not problems:
        click.echo("Bank details and seller identity are set.")
    if problems and strict:
        raise SystemExit(1)
