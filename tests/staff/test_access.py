"""Every /staff URL, whichever feature added it, is for staff only."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def staff_requests(app) -> list[tuple[str, str, str]]:
    """(method, url, endpoint) for every rule under /staff, with dummy converter values."""
    adapter = app.url_map.bind("diadem.test")
    requests = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff"):
            continue
        values = {
            name: 1 if isinstance(converter, IntegerConverter) else "x"
            for name, converter in rule._converters.items()
        }
        url = adapter.build(rule.endpoint, values)
        for method in sorted(rule.methods - IGNORED_METHODS):
            requests.append((method, url, rule.endpoint))
    return requests


def test_the_walk_covers_every_feature(app):
    endpoints = {endpoint for _, _, endpoint in staff_requests(app)}
    blueprints = {endpoint.split(".")[0] for endpoint in endpoints}
    assert {"staff", "provenance_staff", "repairs_staff"} <= blueprints
    assert "dashboard.index" in endpoints
    assert len(endpoints) >= 30


def _hit(client, method: str, url: str, token: str):
    if method == "GET":
        return client.get(url)
    # A real CSRF token, so what answers is the role check and not the CSRF check.
    return client.open(url, method=method, data={"csrf_token": token})


def test_guests_are_sent_to_sign_in_everywhere(app, client):
    token = csrf_token(client, "/account/login")
    failures = []
    for method, url, endpoint in staff_requests(app):
        response = _hit(client, method, url, token)
        if response.status_code != 302 or "/account/login" not in response.location:
            failures.append((method, url, endpoint, response.status_code))
    assert failures == []


def test_customers_are_refused_everywhere(app, client, atelier):
    login(client, "bea@example.com", PASSWORD)
    token = csrf_token(client, "/account")
    failures = []
    for method, url, endpoint in staff_requests(app):
        response = _hit(client, method, url, token)
        if response.status_code != 403:
            failures.append((method, url, endpoint, response.status_code))
    assert failures == []


@pytest.mark.parametrize(
    "path", ["/staff", "/staff/orders", "/staff/repairs", "/staff/provenance/"]
)
def test_staff_get_in(client, atelier, path):
    login(client, "mira@example.org", PASSWORD)
    assert client.get(path).status_code == 200
