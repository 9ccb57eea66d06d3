from __future__ import annotations

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import with_appcontext

from app.accounts import services
from app.common.transactions import atomic


@click.command("create-staff")
@click.argument("email")
@click.option(
    "--name",
    required=True,
    help="The name customers see on passports, certificates and QC reports.",
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Give the login the admin role.")
@with_appcontext
def create_staff_command(email: str, name: str, password: str, admin: bool) -> None:
    """Create (or promote) a staff login."""
    try:
        # The same rule as the sign-in form's Email() validator, so the login can be used.
        email = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL") from exc
    if not name.strip() or len(name.strip()) > 120:
        raise click.BadParameter("give a name of 1 to 120 characters", param_hint="--name")
    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="--password")
    with atomic():
        user, created = services.ensure_staff(
            email=email, password=password, admin=admin, name=name.strip()
        )
    verb = "Created" if created else "Updated"
    click.echo(f"{verb} {user.role} login {user.email}")
