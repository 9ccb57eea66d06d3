"""The shared cache (Flask-Caching): shared pages and data that changes rarely, on every server.

With ``REDIS_URL`` (or ``CACHE_REDIS_URL``) set the cache lives in Redis and every app server
shares it; without, each process keeps its own (``SimpleCache``, bounded).

**Shared pages.** A catalog, product, batch or policy page is rendered as a signed-out visitor
sees it and kept for PAGE_CACHE_SECONDS (default 5 s; 0 turns it off) with its CSRF token left as
a placeholder; each hit gets a fresh token for its own session. Guests and signed-in customers
get the same copy; staff (who see drafts and staff links) and a visitor with a pending message
get their own page.

**Per-visitor fragments.** A part of a shared page that differs per visitor (the cart count and
the account links in the header, a signed-in customer's email in a form) is registered with
``register_fragment``; templates call ``fragment(name)``, the kept copy holds a placeholder, and
every request served from it gets its own value. The copy is rendered with nobody signed in,
so nothing of one customer's can be kept and shown to another.

**Invalidation.** Every cached page and value is keyed by the *catalogue generation*, a random
token in the cache itself. A service that changes what those pages show (the catalogue, a
metal rate, a piece reserved, released or sold) calls ``catalogue_changed()``; after its
transaction commits the token is replaced, so the next request on any server misses and
renders afresh. Old entries are never read again and simply expire. A reservation that
lapses by the clock writes nothing: a cached page may show that piece as taken until the page
expires. Checkout re-checks everything under row locks, so a stale page can never sell a piece
twice.

**Read models.** Values kept with ``remember`` follow the same generation: the product page's
and the catalog's read model (app.catalog.read_model) keep a product's text, pictures and prices
until a service calls ``catalogue_changed()``. A change written any other way shows only when that
entry expires, so every write that changes what those pages show goes through such a service. The
free stock is kept the same way, with two nets under it: any committed write to a piece starts a
new generation (app.catalog.stock_watch), and ``remember(..., still_good=...)`` reads a value
afresh once the clock has made it wrong (a reservation lapsing). Each process also keeps its own
copies of the values it used (keyed by generation, so never different from the shared ones), so
a page built from them costs one round trip to Redis, for the generation.

A cache that fails (Redis down) is logged and treated as a miss: pages are rendered, never lost.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, NamedTuple, TypeVar

from flask import (
    Flask,
    Response,
    current_app,
    g,
    has_app_context,
    has_request_context,
    make_response,
    message_flashed,
    request,
    session,
)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app.common.transactions import in_atomic, on_commit
from app.extensions import cache, login_manager

log = logging.getLogger(__name__)

T = TypeVar("T")

CSRF_PLACEHOLDER = "__diadem_csrf_placeholder__"
GENERATION_KEY = "catalogue-generation"
# A process's own cache holds at most this many entries (odd query strings cannot grow it).
LOCAL_THRESHOLD = 1024
# ... and at most this many pages of its own (about 60 kB each).
LOCAL_PAGES = 256


def init_app(app: Flask) -> None:
    """Bind the shared cache: Redis when a URL is configured, else a per-process cache."""
    redis_url = app.config.get("CACHE_REDIS_URL") or app.config.get("REDIS_URL")
    config: dict[str, Any] = {
        "CACHE_KEY_PREFIX": app.config.get("CACHE_KEY_PREFIX", "diadem:"),
        "CACHE_DEFAULT_TIMEOUT": 300,
    }
    if redis_url:
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url)
    else:
        config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=LOCAL_THRESHOLD)
    cache.init_app(app, config=config)


def _safely(operation: Callable[[], T], fallback: T) -> T:
    try:
        return operation()
    except Exception:  # a cache must never take a page down: log and carry on without it
        log.warning("cache unavailable", exc_info=True)
        return fallback


# --- the catalogue generation ------------------------------------------------------------------


def generation() -> str:
    """Return the current catalogue generation (read once per request)."""
    if has_request_context() and "catalogue_generation" in g:
        return g.catalogue_generation
    token = _safely(lambda: cache.get(GENERATION_KEY), None)
    if token is None:
        # First use, or the entry was evicted: add() is atomic, so every server agrees on one.
        fresh = secrets.token_hex(8)
        _safely(lambda: cache.add(GENERATION_KEY, fresh, timeout=0), False)
        token = _safely(lambda: cache.get(GENERATION_KEY), None) or fresh
    if has_request_context():
        g.catalogue_generation = token
    return token


def bump_generation() -> None:
    """Start a new catalogue generation now: every cached page and value is out of date."""
    token = secrets.token_hex(8)
    _safely(lambda: cache.set(GENERATION_KEY, token, timeout=0), False)
    if has_app_context():
        g.pop("catalogue_generation", None)


def catalogue_changed() -> None:
    """Tell every server what guests see has changed, once the current transaction commits.

    Call from a service that changes the catalogue, a rate or stock. Outside ``atomic()`` (a
    script committing by hand) the generation changes at once.
    """
    if in_atomic():
        on_commit(bump_generation)
    else:
        bump_generation()


class _LocalValues:
    """This process's copies of kept values and pages, newest last, at most ``size``.

    A key holds its catalogue generation, so the shared cache can only ever hold that same value
    under it: a copy kept here is as good as the shared one until the shared entry expires (the
    copy is given the entry's own deadline, never a fresh timeout), and a hit costs neither a
    round trip to Redis nor unpickling.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= time.time():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def set(self, key: str, value: Any, until: float) -> None:
        with self._lock:
            self._items[key] = (until, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class _Shared(NamedTuple):
    """An entry in the shared cache: the value and the moment it stops being good."""

    until: float
    value: Any


def _local(kind: str, size: int) -> _LocalValues:
    name = f"diadem_local_{kind}"
    values = current_app.extensions.get(name)
    if values is None:
        values = current_app.extensions[name] = _LocalValues(size)
    return values


def _kept(local: _LocalValues, key: str) -> Any:
    """The value kept under ``key``: this process's copy, else the shared cache's (copied here)."""
    hit = local.get(key)
    if hit is not None:
        return hit
    shared = _safely(lambda: cache.get(key), None)
    # Anything else under the key (an entry an older release wrote, say) is a miss.
    if not isinstance(shared, _Shared) or shared.until <= time.time():
        return None  # (Redis keeps whole seconds; the deadline is the word)
    local.set(key, shared.value, shared.until)
    return shared.value


def _keep(local: _LocalValues, key: str, value: Any, seconds: float) -> bool:
    """Keep ``value`` under ``key`` for ``seconds``, shared and here, with one deadline for both.

    Return whether the shared cache took it.
    """
    timeout = max(1, round(seconds))
    until = time.time() + timeout
    shared = _safely(lambda: cache.set(key, _Shared(until, value), timeout=timeout), False)
    local.set(key, value, until)
    return bool(shared)


def remember(
    key: str,
    load: Callable[[], T],
    *,
    timeout: float,
    still_good: Callable[[T], bool] | None = None,
) -> T:
    """Return ``load()`` for ``key`` in this catalogue generation, kept ``timeout`` seconds.

    ``still_good``, when given, is asked of a kept value before it is used (a value that goes
    out of date by the clock, not by a write): a value it turns down is loaded afresh.
    """
    full_key = f"data:{generation()}:{key}"
    local = _local("values", LOCAL_THRESHOLD)
    hit = _kept(local, full_key)
    if hit is not None and (still_good is None or still_good(hit)):
        return hit
    value = load()
    _keep(local, full_key, value, timeout)
    return value


# --- guest pages ---------------------------------------------------------------------------------


def _note_flash(sender: Any, message: str, category: str, **extra: Any) -> None:
    g.page_flashed = True


# A page that flashed a message (a filter notice, say) is for its visitor only.
message_flashed.connect(_note_flash)


def csrf_token() -> str | Markup:
    """The templates' csrf_token(): a placeholder while a page is rendered for the cache."""
    if g.get("rendering_for_cache"):
        return CSRF_PLACEHOLDER
    return generate_csrf()


def _page_seconds() -> float:
    return float(current_app.config.get("PAGE_CACHE_SECONDS", 0) or 0)


def _cacheable_request() -> bool:
    # Staff see drafts and staff-only links on some of these pages: theirs are always their own.
    return (
        _page_seconds() > 0
        and request.method == "GET"
        and not (current_user.is_authenticated and current_user.is_staff)
        and "_flashes" not in session
    )


@contextmanager
def _as_guest() -> Iterator[None]:
    """Run the view as a signed-out visitor, whoever asked: the shared copy is a guest's page.

    So nothing of a signed-in customer's can be kept and shown to another; their own parts (the
    account links, the cart count, their email in a form) are fragments, filled in per request.
    """
    visitor = current_user._get_current_object()  # loads them, so it can be put back
    g._login_user = login_manager.anonymous_user()
    try:
        yield
    finally:
        g._login_user = visitor


_FRAGMENTS: dict[str, Callable[[], Markup]] = {}


def register_fragment(name: str, compute: Callable[[], Markup]) -> None:
    """Declare a per-visitor part of shared pages; ``compute`` runs in each request."""
    _FRAGMENTS[name] = compute


def _fragment_placeholder(name: str) -> str:
    return f"__diadem_fragment_{name}__"


def fragment(name: str) -> Markup:
    """The templates' fragment(name): the visitor's own value, or a placeholder for the cache."""
    compute = _FRAGMENTS.get(name)
    if compute is None:
        return Markup("")
    if g.get("rendering_for_cache"):
        return Markup(_fragment_placeholder(name))
    return compute()


def _with_token(html: str) -> str:
    """Fill a shared page's placeholders in for this request: its CSRF token and fragments."""
    if CSRF_PLACEHOLDER in html:
        html = html.replace(CSRF_PLACEHOLDER, generate_csrf())
    for name, compute in _FRAGMENTS.items():
        placeholder = _fragment_placeholder(name)
        if placeholder in html:
            html = html.replace(placeholder, str(compute()))
    return html


def page_key(full_path: str) -> str:
    """Where the shared copy of the page at ``full_path`` is kept in this generation."""
    return f"page:{generation()}:{full_path}"


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve a GET from the shared page cache, or render it as a guest's page and keep it."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not _cacheable_request():
            return view(*args, **kwargs)
        key = page_key(request.full_path)
        pages = _local("pages", LOCAL_PAGES)
        html = _kept(pages, key)
        if html is not None:
            response = Response(_with_token(html), mimetype="text/html")
            response.headers["X-Page-Cache"] = "hit"
            return response
        g.rendering_for_cache = True
        try:
            with _as_guest():
                response = make_response(view(*args, **kwargs))
        finally:
            g.rendering_for_cache = False
        html = response.get_data(as_text=True)
        # Only a plain page is shared: not an error, and not one that left a message behind.
        shareable = response.status_code == 200 and not g.get("page_flashed")
        if shareable and _keep(pages, key, html, _page_seconds()):
            response.headers["X-Page-Cache"] = "miss"
        response.set_data(_with_token(html))
        return response

    return wrapped
