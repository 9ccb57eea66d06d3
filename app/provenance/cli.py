"""`verify-provenance` checks every passport's chain and signatures; `provenance-keygen`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.common.transactions import atomic
from app.provenance import services, signing


@click.command("verify-provenance")
@click.option("--quiet", is_flag=True, help="Print only the broken and unsigned chains.")
@with_appcontext
def verify_provenance_command(quiet: bool) -> None:
    """Verify every provenance chain; name each broken link; exit 1 if any is not verified."""
    with atomic():  # one consistent snapshot of every chain (nothing is written)
        results = services.verify_all()
    broken = unsigned = 0
    for passport, report in results:
        if report.status == "ok":
            if not quiet:
                click.echo(
                    f"ok      {passport.code}  {report.length:3d} entries  "
                    f"head {report.head_hash[:16]}…  {passport.title}"
                )
        elif report.status == "unsigned":
            unsigned += 1
            seqs = ", ".join(f"#{seq}" for seq in report.unsigned)
            click.echo(f"UNSIGNED {passport.code}  {passport.title}", err=True)
            click.echo(
                f"        entries {seqs} carry no signature (written before signing)", err=True
            )
        else:
            broken += 1
            click.echo(f"BROKEN  {passport.code}  {passport.title}", err=True)
            for item in report.breaks:
                click.echo(f"        {item}", err=True)
    summary = f"{len(results)} chains checked, {broken} broken"
    click.echo(summary + (f", {unsigned} unsigned." if unsigned else "."))
    if broken or unsigned:
        raise SystemExit(1)


@click.command("provenance-keygen")
@click.option("--force", is_flag=True, help="Replace an existing key (old signatures then fail).")
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Where to write the key (default: ${signing.KEY_ENV}, else instance/).",
)
@with_appcontext
def provenance_keygen_command(force: bool, path: Path | None) -> None:
    """Write a new Ed25519 provenance signing key (0600) and print its public key."""
    target = path or signing.key_path()[0]
    try:
        signer = signing.write_key(target, force=force)
    except signing.KeyExists as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {target} (keep it secret and backed up; it never goes in the database).")
    click.echo(signer.public_pem, nl=False)


commands = [verify_provenance_command, provenance_keygen_command]
