"""The shared cache: guests' pages with their own CSRF token, kept in Redis for every server (or
per process without it), and a catalogue generation that a rate or stock change replaces."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
import redis
from flask import Flask, render_template_string
from sqlalchemy import select

from app import create_app
from app.catalog import reservations
from app.catalog.models import Metal, Product
from app.common import caching
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import cache, db
from tests.helpers import csrf_token, login, make_user

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TOTAL = re.compile(r'data-total-minor="(\d+)"')
PRODUCT = "/shop/aurelia-crown?size=M&metal=yellow-gold"
REDIS_DB_URL = "redis://127.0.0.1:6379/6"  # the tests' own Redis database, flushed around each
# What a second app server needs from the first one's configuration (same database and files).
SHARED_KEYS = (
    "TESTING",
    "SECRET_KEY",
    "SQLALCHEMY_DATABASE_URI",
    "MEDIA_ROOT",
    "MAIL_OUTBOX_DIR",
    "UPLOADS_ROOT",
    "PROVENANCE_KEY_PATH",
    "MAIL_TRANSPORT",
    "RATELIMIT_STORAGE_URI",
    "REDIS_URL",
    "SERVER_NAME",
    "PUBLIC_BASE_URL",
)


@pytest.fixture
def cached(seeded: Flask) -> Iterator[Flask]:
    seeded.config["PAGE_CACHE_SECONDS"] = 30
    yield seeded


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_DB_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _server(first: Flask, **config: object) -> Flask:
    """Another app server on the first one's database."""
    settings = {key: first.config[key] for key in SHARED_KEYS}
    settings.update(PAGE_CACHE_SECONDS=30, **config)
    return create_app(settings)


@pytest.fixture
def two_servers(seeded: Flask, redis_db: redis.Redis) -> Iterator[tuple[Flask, Flask]]:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    servers = tuple(
        _server(seeded, CACHE_REDIS_URL=REDIS_DB_URL, CACHE_KEY_PREFIX=prefix) for _ in range(2)
    )
    yield servers
    for server in servers:
        with server.app_context():
            db.session.remove()
            db.engine.dispose()


def _total(response) -> int:
    return int(TOTAL.search(response.get_data(as_text=True)).group(1))


def _free_numbers(response) -> int:
    return response.get_data(as_text=True).count('class="piece-no"')


def test_guest_pages_are_served_from_cache_with_their_own_token(cached):
    first_client, second_client = cached.test_client(), cached.test_client()
    first = first_client.get("/shop/aurelia-crown")
    second = second_client.get("/shop/aurelia-crown")
    assert first.headers["X-Page-Cache"] == "miss"
    assert second.headers["X-Page-Cache"] == "hit"
    first_html, second_html = first.get_data(as_text=True), second.get_data(as_text=True)
    assert caching.CSRF_PLACEHOLDER not in first_html + second_html
    first_token = TOKEN.search(first_html).group(1)
    second_token = TOKEN.search(second_html).group(1)
    assert first_token != second_token
    # The token a cache hit carries works for that visitor's own session.
    response = second_client.post(
        "/cart/items",
        data={
            "csrf_token": second_token,
            "product_id": "1",
            "metal": "yellow-gold",
            "size": "M",
            "quantity": "1",
        },
    )
    assert response.status_code == 302
    assert "Form expired" not in second_client.get("/cart").get_data(as_text=True)


def test_the_cache_is_off_at_zero_seconds_and_on_above(cached):
    client = cached.test_client()
    client.get("/shop")
    assert client.get("/shop").headers["X-Page-Cache"] == "hit"
    cached.config["PAGE_CACHE_SECONDS"] = 0
    assert "X-Page-Cache" not in client.get("/shop").headers
    assert "X-Page-Cache" not in client.get("/shop").headers
    cached.config["PAGE_CACHE_SECONDS"] = 30
    assert client.get("/shop").headers["X-Page-Cache"] == "hit"


def _signed_in(app: Flask, email: str, role: str = "customer"):
    make_user(app, email=email, role=role)
    client = app.test_client()
    login(client, email)
    client.get("/account")  # shows (and clears) "You are signed in.": the next page may be shared
    return client


def test_customers_share_the_guests_copy_and_see_only_their_own_parts(cached):
    ada = _signed_in(cached, "ada@example.com")
    bea = _signed_in(cached, "bea@example.com")
    guest = cached.test_client()
    sold_out = "/shop/regent-crown"  # its waiting-list form offers a signed-in customer's email

    first = ada.get(sold_out)  # Ada's request renders the shared copy
    seen = {name: client.get(sold_out) for name, client in (("bea", bea), ("guest", guest))}

    assert first.headers["X-Page-Cache"] == "miss"
    assert [page.headers["X-Page-Cache"] for page in seen.values()] == ["hit", "hit"]
    ada_html, bea_html = first.get_data(as_text=True), seen["bea"].get_data(as_text=True)
    guest_html = seen["guest"].get_data(as_text=True)
    assert 'value="ada@example.com"' in ada_html and "Sign out" in ada_html
    assert 'value="bea@example.com"' in bea_html and "Sign out" in bea_html
    assert "ada@example.com" not in bea_html + guest_html
    assert "Sign in" in guest_html and "Sign out" not in guest_html
    with cached.app_context():
        kept = cache.get(caching.page_key(f"{sold_out}?")).value
    assert "ada@example.com" not in kept and "Sign out" not in kept
    # The token on Bea's shared copy is her own: it signs her out.
    token = TOKEN.search(bea_html).group(1)
    assert bea.post("/account/logout", data={"csrf_token": token}).status_code in (302, 303)
    assert "Sign in" in bea.get("/shop").get_data(as_text=True)


def test_a_shared_page_is_rendered_with_nobody_signed_in(cached):
    # Were a shared page's view or template to read the visitor directly, the kept copy would
    # still be a guest's: personal parts reach a shared page only as fragments.
    page = "{{ current_user.email if current_user.is_authenticated else 'a guest' }}"
    cached.add_url_rule("/who", "who", caching.cached_page(lambda: render_template_string(page)))
    ada = _signed_in(cached, "ada@example.com")
    bea = _signed_in(cached, "bea@example.com")

    first, second = ada.get("/who"), bea.get("/who")

    assert (first.headers["X-Page-Cache"], second.headers["X-Page-Cache"]) == ("miss", "hit")
    assert first.get_data(as_text=True) == second.get_data(as_text=True) == "a guest"
    assert "Sign out" in ada.get("/shop").get_data(as_text=True)  # still signed in afterwards


def test_staff_always_get_their_own_page(cached):
    guest = cached.test_client()
    guest.get("/shop")
    staff = _signed_in(cached, "bench@example.com", role="staff")
    page = staff.get("/shop")
    assert "X-Page-Cache" not in page.headers
    assert ">Staff</a>" in page.get_data(as_text=True)


def test_messages_and_errors_are_never_cached(cached):
    make_user(cached)
    client = cached.test_client()
    login(client)
    # Signing in left "You are signed in." to show: that page is this visitor's own.
    assert "X-Page-Cache" not in client.get("/shop/aurelia-crown").headers
    guest = cached.test_client()
    notice = guest.get("/shop?kind=spaceship")
    assert notice.headers.get("X-Page-Cache") != "miss"  # it flashed a notice
    assert "Ignored the unknown kind" in guest.get("/shop?kind=spaceship").get_data(as_text=True)
    assert guest.get("/shop/aurelia-crown?size=XXL").status_code == 400
    assert guest.get("/shop/aurelia-crown?size=XXL").status_code == 400


def test_a_rate_changed_on_one_server_shows_on_the_other_at_once(two_servers):
    a, b = two_servers
    guest_b = b.test_client()
    before = guest_b.get(PRODUCT)
    assert before.headers["X-Page-Cache"] == "miss"
    assert guest_b.get(PRODUCT).headers["X-Page-Cache"] == "hit"
    assert a.test_client().get(PRODUCT).headers["X-Page-Cache"] == "hit"  # one shared cache

    make_user(a, email="owner@example.com", role="admin", name="Owner")
    admin = a.test_client()
    login(admin, email="owner@example.com")
    token = csrf_token(admin, "/staff/catalog/rates")
    response = admin.post(
        "/staff/catalog/rates",
        data={"csrf_token": token, "metal": "yellow-gold", "rate": "99.50", "note": ""},
    )
    assert response.status_code == 302

    after = guest_b.get(PRODUCT)
    assert after.headers["X-Page-Cache"] == "miss"
    assert _total(after) > _total(before)
    assert guest_b.get(PRODUCT).headers["X-Page-Cache"] == "hit"


def test_a_piece_reserved_on_one_server_is_gone_from_the_others_page_at_once(two_servers):
    a, b = two_servers
    guest_b = b.test_client()
    free_before = _free_numbers(guest_b.get(PRODUCT))
    assert guest_b.get(PRODUCT).headers["X-Page-Cache"] == "hit"
    with a.test_request_context(), atomic():
        product_id, metal_id = db.session.execute(
            select(Product.id, Metal.id)
            .join(Metal, Metal.id == Product.default_metal_id)
            .where(Product.slug == "aurelia-crown")
        ).one()
        now = utcnow()
        piece = reservations.claim_free_piece(
            product_id=product_id, metal_id=metal_id, now=now, until=now + timedelta(minutes=15)
        )
        assert piece is not None
        # Nothing changes before the commit: a rolled-back reservation would tell nobody.
        assert guest_b.get(PRODUCT).headers["X-Page-Cache"] == "hit"
    after = guest_b.get(PRODUCT)
    assert after.headers["X-Page-Cache"] == "miss"
    assert _free_numbers(after) == free_before - 1


def test_without_redis_each_process_keeps_its_own_pages(cached):
    other = _server(cached)
    try:
        with cached.app_context():
            assert type(cache.cache).__name__ == "SimpleCache"
        assert cached.test_client().get(PRODUCT).headers["X-Page-Cache"] == "miss"
        assert cached.test_client().get(PRODUCT).headers["X-Page-Cache"] == "hit"
        assert other.test_client().get(PRODUCT).headers["X-Page-Cache"] == "miss"
        # A change in this process is seen by this process's next request.
        with cached.test_request_context(), atomic():
            caching.catalogue_changed()
        assert cached.test_client().get(PRODUCT).headers["X-Page-Cache"] == "miss"
    finally:
        with other.app_context():
            db.engine.dispose()


def test_a_generation_change_rolled_back_tells_nobody(cached):
    client = cached.test_client()
    client.get(PRODUCT)
    with cached.test_request_context(), pytest.raises(RuntimeError), atomic():
        caching.catalogue_changed()
        raise RuntimeError("the change failed")
    assert client.get(PRODUCT).headers["X-Page-Cache"] == "hit"


def test_remembered_values_start_afresh_in_a_new_generation(cached):
    loads = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    with cached.test_request_context():
        assert caching.remember("answer", load, timeout=30) == 1
        assert caching.remember("answer", load, timeout=30) == 1
        caching.bump_generation()
        assert caching.remember("answer", load, timeout=30) == 2


def test_a_cache_that_is_down_costs_the_cache_not_the_page(seeded):
    # Nothing listens on port 9: every cache call fails at once and pages are rendered.
    down = _server(seeded, CACHE_REDIS_URL="redis://127.0.0.1:9/6")
    try:
        client = down.test_client()
        for _ in range(2):
            response = client.get(PRODUCT)
            assert response.status_code == 200
            assert "X-Page-Cache" not in response.headers
            assert TOTAL.search(response.get_data(as_text=True))
    finally:
        with down.app_context():
            db.engine.dispose()


def test_a_servers_own_copy_lasts_no_longer_than_the_shared_entry(two_servers, monkeypatch):
    first, second = two_servers
    now = [1_000_000.0]
    monkeypatch.setattr(caching, "time", SimpleNamespace(time=lambda: now[0]))
    loads: list[str] = []

    def remembered(app: Flask, name: str) -> str:
        with app.app_context():
            return caching.remember("rate", lambda: loads.append(name) or name, timeout=30)

    assert remembered(first, "first") == "first"  # kept at t=0 until t=30, in Redis and here
    now[0] += 20
    assert remembered(second, "second") == "first"  # copied from Redis at t=20
    now[0] += 11  # t=31: past the shared entry's deadline, though the copy was made at t=20
    assert remembered(second, "second") == "second"
    assert loads == ["first", "second"]


def test_an_entry_in_another_shape_is_a_miss_not_an_error(two_servers):
    # An older release (during a rolling deploy) kept bare values under the same keys.
    first, _ = two_servers
    with first.app_context():
        key = f"data:{caching.generation()}:rate"
        cache.set(key, ("stale", "pair"), timeout=30)
        assert caching.remember("rate", lambda: "fresh", timeout=30) == "fresh"
