"""Checkout maintenance commands (run from cron or a scheduler)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.checkout import services
from app.common.transactions import atomic


@click.command("expire-reservations")
@with_appcontext
def expire_reservations_command() -> None:
    """Cancel unpaid orders whose reservation lapsed and return their pieces to sale.

    Lapsed pieces are already sellable without this (reservation checks the time), so this
    only tidies order statuses and cancels abandoned card payments; run it every few minutes.
    """
    with atomic():
        order_ids = services.lapsed_order_ids()
    numbers = []
    for order_id in order_ids:
        # One transaction per order: each holds its order and piece locks only briefly.
        with atomic():
            number = services.expire_order(order_id)
        if number is not None:
            numbers.append(number)
    click.echo(f"Expired {len(numbers)} order(s){': ' + ', '.join(numbers) if numbers else ''}.")


commands = [expire_reservations_command]
