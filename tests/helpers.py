"""Test helpers: read CSRF tokens from pages, sign in, make users, record SQL statements."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from app.extensions import db

T = TypeVar("T")
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


def race(count: int, run: Callable[[int], T]) -> list[T]:
    """Start ``run(0)`` ... ``run(count - 1)`` in threads at the same instant; their results."""
    barrier = threading.Barrier(count)
    results: list[T] = []
    lock = threading.Lock()

    def racer(number: int) -> None:
        barrier.wait(timeout=30)
        result = run(number)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
