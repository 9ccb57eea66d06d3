"""Test helpers: read CSRF tokens from pages, sign in, make users, record SQL statements."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from app.extensions import db

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} (status {page.status_code})"
    return match.group(1)


def make_user(
    app,
    email: str = "buyer@example.com",
    password: str = "correct horse battery",
    role: str = "customer",
    name: str = "Bea Buyer",
):
    from app.accounts import services
    from app.accounts.models import Role

    with app.app_context():
        user = services.register_user(email=email, password=password, name=name, role=Role(role))
        return user.id


def login(
    client: FlaskClient, email: str = "buyer@example.com", password: str = "correct horse battery"
):
    token = csrf_token(client, "/account/login")
    return client.post(
        "/account/login", data={"email": email, "password": password, "csrf_token": token}
    )


@contextmanager
def recorded_statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements ``app``'s engine runs inside the block, in order."""
    statements: list[str] = []

    def note(connection, cursor, statement, *args) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)
