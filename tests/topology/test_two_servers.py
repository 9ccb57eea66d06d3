"""The shop as it runs in production: two app servers that share nothing but PostgreSQL, Redis
and the bucket. What one server does, the other sees at once."""

from __future__ import annotations

import re
import time

import pytest
import redis

from tests.conftest import POSTGRES_URL
from tests.topology.servers import ADMIN, REDIS_URL, Browser, Topology
from tests.tryon.helpers import astronaut_jpeg

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not POSTGRES_URL, reason="two servers share a PostgreSQL database (the PostgreSQL pass)"
    ),
]

TOTAL = re.compile(r'data-total-minor="(\d+)"')
CHECKOUT = {
    "email": "gwen@example.com",
    "name": "Gwen Guest",
    "address_line1": "12 Coronet Street",
    "city": "Edinburgh",
    "postal_code": "EH1 1AA",
    "country": "GB",
    "payment_method": "manual",
    "accept_policy": "y",
}


def _forget_rate_limits() -> None:
    """Each test starts with a fresh try-on budget (the limits live in Redis, shared)."""
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter("LIMITS*"):
        client.delete(key)


def _snapshot(browser: Browser, base: str, *, save: bool):
    token = re.search(
        r'name="csrf-token" content="([^"]+)"', browser.get(base + "/tryon/test-crown").text
    ).group(1)
    return browser.post(
        base + "/tryon/api/snapshot",
        data={"product": "test-crown", "metal": "yellow-gold", "save": "y" if save else ""},
        files={"image": ("me.jpg", astronaut_jpeg(), "image/jpeg")},
        headers={"X-CSRFToken": token},
        timeout=60,
    )


def test_a_snapshot_saved_through_a_is_served_by_b(topology: Topology):
    _forget_rate_limits()
    owner = Browser()
    owner.sign_in(topology.a, *ADMIN)
    saved = _snapshot(owner, topology.a, save=True)
    assert saved.status_code == 200, saved.text[:500]
    image_url = saved.json()["snapshot"]["image_url"]
    from_a = owner.get(topology.a + image_url, timeout=30)
    from_b = owner.get(topology.b + image_url, timeout=30)  # the session cookie works on B too
    assert from_a.status_code == from_b.status_code == 200
    assert from_b.headers["Content-Type"] == "image/jpeg"
    assert from_b.content == from_a.content and len(from_b.content) > 10_000
    stranger = Browser()
    assert stranger.get(topology.b + image_url, allow_redirects=False).status_code == 302
    for instance in topology.instances.values():  # nothing landed on either server's disk
        assert not [p for p in instance.rglob("*") if p.suffix in (".jpg", ".png")]


def test_a_rate_changed_through_a_is_the_price_on_b_at_once(topology: Topology):
    guest = Browser()
    page = topology.b + "/shop/test-crown?metal=yellow-gold"
    before = int(TOTAL.search(guest.get(page).text).group(1))
    assert int(TOTAL.search(guest.get(page).text).group(1)) == before  # B now serves it cached
    admin = Browser()
    admin.sign_in(topology.a, *ADMIN)
    token = admin.token(topology.a + "/staff/catalog/rates")
    response = admin.post(
        topology.a + "/staff/catalog/rates",
        data={"csrf_token": token, "metal": "yellow-gold", "rate": "123.45", "note": "fix"},
        allow_redirects=False,
    )
    assert response.status_code == 302
    after = int(TOTAL.search(guest.get(page).text).group(1))
    assert after != before
    assert (
        guest.get(topology.b + "/shop/test-crown/price.json?metal=yellow-gold").json()[
            "total_minor"
        ]
        == after
    )


def test_the_try_on_rate_limit_is_shared_by_both_servers(topology: Topology):
    _forget_rate_limits()
    visitor = Browser()
    statuses = [
        _snapshot(visitor, base, save=False).status_code
        for base in (topology.a, topology.b, topology.a, topology.b, topology.a)
    ]
    assert statuses == [200, 200, 200, 200, 429]  # 4 per minute in all, not 4 per server


def test_with_smtp_down_orders_complete_and_their_mail_goes_out_when_it_returns(
    topology: Topology,
):
    from aiosmtpd.controller import Controller

    buyer = Browser()
    form = buyer.get(topology.a + "/shop/test-crown")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text).group(1)
    buyer.post(
        topology.a + "/cart/items",
        data={
            "csrf_token": token,
            "product_id": re.search(r'name="product_id"[^>]*value="(\d+)"', form.text).group(1),
            "metal": "silver",
            "size": "M",
            "quantity": "1",
        },
    )
    data = {**CHECKOUT, "csrf_token": buyer.token(topology.b + "/checkout")}
    placed = buyer.post(topology.b + "/checkout", data=data, allow_redirects=False)
    assert placed.status_code == 302 and "/account/orders/DIA-" in placed.headers["Location"]
    number = placed.headers["Location"].rsplit("/", 1)[1]
    assert buyer.get(topology.a + placed.headers["Location"]).status_code == 200

    # The worker tries while SMTP is down: nothing is lost, the message waits for its retry.
    worker = topology.flask("worker", "--burst", instance="worker")
    assert worker.returncode == 0, worker.stderr[-2000:]
    waiting = topology.flask("outbox", "list", instance="worker").stdout
    assert number in waiting and "attempts 1" in waiting

    received: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            received.append(envelope.content)
            return "250 OK"

    smtp = Controller(Sink(), hostname="127.0.0.1", port=int(topology.env["MAIL_PORT"]))
    smtp.start()
    try:
        time.sleep(1.5)  # past the retry time (DIADEM_OUTBOX_RETRY_SECONDS=1)
        first = topology.flask("run-scheduled", instance="a")
        second = topology.flask("run-scheduled", instance="b")
    finally:
        smtp.stop()
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    mails = [m for m in received if number.encode() in m]
    assert len(mails) == 1  # sent once, however many sweeps ran
    assert "0 unsent" in topology.flask("outbox", "list", instance="b").stdout
