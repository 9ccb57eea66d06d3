"""`flask --app wsgi verify-provenance`: check every passport's hash chain."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.common.transactions import atomic
from app.provenance import services


@click.command("verify-provenance")
@click.option("--quiet", is_flag=True, help="Print only the broken chains.")
@with_appcontext
def verify_provenance_command(quiet: bool) -> None:
    """Verify every provenance chain; name each broken link and exit 1 if any."""
    with atomic():  # one consistent snapshot of every chain (nothing is written)
        results = services.verify_all()
    broken = 0
    for passport, report in results:
        if report.ok:
            if not quiet:
                click.echo(
                    f"ok      {passport.code}  {report.length:3d} entries  "
                    f"head {report.head_hash[:16]}…  {passport.title}"
                )
            continue
        broken += 1
        click.echo(f"BROKEN  {passport.code}  {passport.title}", err=True)
        for item in report.breaks:
            click.echo(f"        {item}", err=True)
    click.echo(f"{len(results)} chains checked, {broken} broken.")
    if broken:
        raise SystemExit(1)


commands = [verify_provenance_command]
