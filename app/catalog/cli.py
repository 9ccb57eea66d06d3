"""``flask catalog export`` and ``flask catalog import``: the catalogue as one JSON file."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from app.catalog import transfer
from app.common.transactions import atomic


class _DryRun(Exception):
    """Raised to roll back a dry run after it has been reported."""


@click.group("catalog")
def catalog_group() -> None:
    """Export or import the catalogue as a JSON document."""


@catalog_group.command("export")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to FILE.")
@with_appcontext
def export_command(out: str | None) -> None:
    """Print the whole catalogue as one JSON document (or write it to --out)."""
    with atomic():
        document = transfer.export_catalogue()
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"Wrote the catalogue to {out}.", err=True)
    else:
        click.echo(text, nl=False)


@catalog_group.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--dry-run", is_flag=True, help="Check and report, change nothing.")
@with_appcontext
def import_command(file, dry_run: bool) -> None:
    """Validate FILE, then apply it in one transaction; nothing changes if anything is wrong."""
    try:
        document = json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file.name} is not valid JSON: {exc}") from None
    report: transfer.ImportReport | None = None
    try:
        with atomic():
            report = transfer.apply(document)
            if dry_run:
                raise _DryRun
    except transfer.CatalogueRefused as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"Refused: {len(exc.problems)} problem(s); the catalogue is unchanged."
        ) from None
    except _DryRun:
        pass
    assert report is not None
    _print_report(report, dry_run=dry_run)


def _print_report(report: transfer.ImportReport, *, dry_run: bool) -> None:
    if dry_run:
        click.echo("Dry run: nothing was saved; this is what the import would do.")
    if not report.anything_done:
        click.echo(f"Nothing to change: all {len(report.unchanged)} items were left alone.")
        return
    for heading, labels in (("Created", report.created), ("Changed", report.changed)):
        if labels:
            click.echo(f"{heading} {len(labels)}: {', '.join(labels)}")
    click.echo(f"Left alone: {len(report.unchanged)} items.")
