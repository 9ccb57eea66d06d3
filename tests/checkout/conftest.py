"""Fixtures for checkout tests: a small shop, and localstripe with the app served live."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from tests.checkout.support import Shop, make_shop

STRIPE_KEY = "sk_test_diadem"
WEBHOOK_SECRET = "whsec_diadem_test"


@pytest.fixture
def shop(app) -> Shop:
    with app.app_context():
        return make_shop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory) -> Iterator[str]:
    """A fake Stripe (localstripe) on 127.0.0.1, empty, for the whole session."""
    port = _free_port()
    log = tmp_path_factory.mktemp("localstripe") / "server.log"
    script = Path(__file__).with_name("localstripe_server.py")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(script), str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{url}/v1/customers", auth=(STRIPE_KEY, ""), timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"localstripe did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def stripe_app(app, localstripe):
    """The app with Stripe keys pointing at localstripe."""
    app.config.update(
        STRIPE_SECRET_KEY=STRIPE_KEY,
        STRIPE_PUBLISHABLE_KEY="pk_test_diadem",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=localstripe,
    )
    return app


@pytest.fixture
def live_stripe(stripe_app, localstripe) -> Iterator[str]:
    """Serve the app on 127.0.0.1 and point localstripe's webhook at it; yield the base URL."""
    server = make_server("127.0.0.1", 0, stripe_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    register_webhook(localstripe, "diadem", f"{base}/stripe/webhook")
    try:
        yield base
    finally:
        # Later events must not reach a server that is gone (nor a reused port).
        register_webhook(localstripe, "diadem", "http://127.0.0.1:9/gone")
        server.shutdown()
        thread.join(timeout=5)


def register_webhook(localstripe_url: str, hook_id: str, url: str) -> None:
    response = requests.post(
        f"{localstripe_url}/_config/webhooks/{hook_id}",
        data={"url": url, "secret": WEBHOOK_SECRET},
        timeout=5,
    )
    response.raise_for_status()


def stripe_api(localstripe_url: str, method: str, path: str, **data):
    """Call localstripe the way Stripe.js would from the buyer's browser."""
    payload = {"params": data} if method == "GET" else {"data": data}
    return requests.request(
        method, f"{localstripe_url}{path}", auth=(STRIPE_KEY, ""), timeout=5, **payload
    )


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Poll until predicate() is truthy; return its value (fail after timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the webhook")
        time.sleep(interval)


POSTGRES = bool(os.environ.get("DIADEM_TEST_DATABASE_URL"))
