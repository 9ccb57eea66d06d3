"""Checkout maintenance commands (run from cron or a scheduler)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.checkout import services


@click.command("expire-reservations")
@with_appcontext
def expire_reservations_command() -> None:
    """Cancel unpaid orders whose reservation lapsed and return their pieces to sale.

    Lapsed pieces are already sellable without this (reservation checks the time), so this
    only tidies order statuses and cancels abandoned card payments; run it every few minutes.
    """
    numbers = services.expire_lapsed_orders()
    click.echo(f"Expired {len(numbers)} order(s){': ' + ', '.join(numbers) if numbers else ''}.")


commands = [expire_reservations_command]
