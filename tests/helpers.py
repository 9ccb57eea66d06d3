"""Test helpers: read CSRF tokens from pages, sign in, make users, record SQL statements, race."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
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


def race(
    count: int,
    run: Callable[[int], T],
    *,
    app: Flask | None = None,
    before: Callable[[int], object] | None = None,
    catch: type[Exception] | tuple[type[Exception], ...] = (),
) -> list[T | Exception]:
    """Run ``run(0)`` ... ``run(count - 1)`` in threads released together; results by index.

    With ``app`` each racer works in its own app context (its own session and connection, so
    the databases really see concurrent transactions) and removes its session afterwards.
    ``before(i)`` runs in that context before the barrier: work that must happen ahead of the
    race (a page load's stale copy of a row) without being part of it. An exception of a
    ``catch`` type becomes that racer's result; any other, or a racer that does not finish, fails
    the calling test once every thread has stopped.
    """
    barrier = threading.Barrier(count, timeout=30)
    results: list[T | Exception | None] = [None] * count
    errors: list[BaseException] = []

    def racer(number: int) -> None:
        with app.app_context() if app is not None else nullcontext():
            try:
                try:
                    if before is not None:
                        before(number)
                    barrier.wait()
                except BaseException as exc:
                    errors.append(exc)
                    barrier.abort()  # the others stop waiting for a racer that will not come
                    return
                try:
                    results[number] = run(number)
                except catch as exc:
                    results[number] = exc
                except BaseException as exc:
                    errors.append(exc)
            finally:
                if app is not None:
                    db.session.remove()

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stuck = [n for n, thread in enumerate(threads) if thread.is_alive()]
    assert not stuck, f"racers {stuck} did not finish within 60 s"
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]
