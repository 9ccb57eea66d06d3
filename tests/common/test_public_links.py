"""Links that leave the site are built on PUBLIC_BASE_URL, never on the request's Host header."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.common.links import public_url
from app.common.mail import read_outbox
from app.config import from_environment, trusted_hosts
from tests.helpers import CSRF_RE, make_user

EVIL = "http://evil.example"


def test_a_forged_host_header_does_not_reach_the_reset_link(client, app):
    """The audit's account takeover: the reset mail used to link to whatever Host was sent."""
    make_user(app)
    app.config["SERVER_NAME"] = None  # as behind a proxy that passes any Host through
    page = client.get("/account/password/forgot", base_url=EVIL)
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    response = client.post(
        "/account/password/forgot",
        data={"email": "buyer@example.com", "csrf_token": token},
        base_url=EVIL,
    )
    assert response.status_code == 302
    [message] = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "evil.example" not in body
    assert re.search(r"http://diadem\.test/account/password/reset/\S+", body)


def test_public_url_works_without_a_request_and_keeps_a_base_path(app):
    app.config["PUBLIC_BASE_URL"] = "https://shop.example/atelier"
    with app.app_context():
        url = public_url("provenance.passport", code="abc123")
    assert url == "https://shop.example/atelier/p/abc123"


def test_trusted_hosts_come_from_the_public_base_url_or_their_own_setting():
    assert trusted_hosts({}) is None  # development: any host
    assert trusted_hosts({"DIADEM_PUBLIC_BASE_URL": "https://shop.example"}) == ["shop.example"]
    assert trusted_hosts(
        {"DIADEM_PUBLIC_BASE_URL": "https://shop.example", "DIADEM_TRUSTED_HOSTS": "a.example, b"}
    ) == ["a.example", "b"]


def test_a_request_for_an_unknown_host_is_refused_in_production(tmp_path, monkeypatch):
    monkeypatch.setenv("DIADEM_PUBLIC_BASE_URL", "https://shop.example")
    config = from_environment(str(tmp_path))
    assert config["PUBLIC_BASE_URL"] == "https://shop.example"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "TRUSTED_HOSTS": config["TRUSTED_HOSTS"],
        }
    )
    client = app.test_client()
    assert client.get("/healthz", base_url="https://evil.example").status_code == 400
    assert client.get("/healthz", base_url="https://shop.example").status_code == 200


@pytest.mark.parametrize("value", ["", None])
def test_development_defaults_to_the_local_server(tmp_path, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("DIADEM_PUBLIC_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("DIADEM_PUBLIC_BASE_URL", value)
    assert from_environment(str(tmp_path))["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
