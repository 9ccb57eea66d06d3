"""Test helpers: read CSRF tokens from pages, sign in, make users."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

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
