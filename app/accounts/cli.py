from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.accounts import services
from app.common.transactions import atomic


@click.command("create-staff")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Give the login the admin role.")
@with_appcontext
def create_staff_command(email: str, password: str, admin: bool) -> None:
    """Create (or promote) a staff login."""
    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="--password")
    with atomic():
        user, created = services.ensure_staff(email=email, password=password, admin=admin)
    verb = "Created" if created else "Updated"
    click.echo(f"{verb} {user.role} login {user.email}")
