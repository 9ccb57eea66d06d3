"""A short-lived per-process cache of public pages as guests see them.

Catalog and product pages cost several queries and a large template; the same few are asked
for over and over. For a signed-out visitor without pending messages, the rendered page is
kept for PAGE_CACHE_SECONDS (default 5 s; 0 turns it off) with its CSRF token left as a
placeholder, and each hit gets a fresh token for its own session. What a cached page shows
(prices, numbers still free) can be that many seconds old; checkout re-checks everything under
row locks, so a stale page can never sell a piece twice.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, g, make_response, message_flashed, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

CSRF_PLACEHOLDER = "__diadem_csrf_placeholder__"


class PageCache:
    """A thread-safe LRU of (expiry, html) by key, bounded so odd query strings cannot grow it."""

    def __init__(self, maxsize: int = 512) -> None:
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._maxsize = maxsize

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def set(self, key: str, html: str, ttl: float) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + ttl, html)
            self._items.move_to_end(key)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


pages = PageCache()


def _note_flash(sender: Any, message: str, category: str, **extra: Any) -> None:
    g.page_flashed = True


# A page that flashed a message (a filter notice, say) is for its visitor only.
message_flashed.connect(_note_flash)


def csrf_token() -> str | Markup:
    """The templates' csrf_token(): a placeholder while a page is rendered for the cache."""
    if g.get("rendering_for_cache"):
        return CSRF_PLACEHOLDER
    return generate_csrf()


def _cacheable_request() -> bool:
    return (
        current_app.config.get("PAGE_CACHE_SECONDS", 0) > 0
        and request.method == "GET"
        and not current_user.is_authenticated
        and "_flashes" not in session
    )


def _with_token(html: str) -> str:
    return html.replace(CSRF_PLACEHOLDER, generate_csrf()) if CSRF_PLACEHOLDER in html else html


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve a guest's GET from the page cache, or render it and keep it when it is clean."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not _cacheable_request():
            return view(*args, **kwargs)
        key = request.full_path
        html = pages.get(key)
        if html is not None:
            response = Response(_with_token(html), mimetype="text/html")
            response.headers["X-Page-Cache"] = "hit"
            return response
        g.rendering_for_cache = True
        try:
            response = make_response(view(*args, **kwargs))
        finally:
            g.rendering_for_cache = False
        html = response.get_data(as_text=True)
        # Only a plain page is shared: not an error, and not one that left a message behind.
        if response.status_code == 200 and not g.get("page_flashed"):
            pages.set(key, html, current_app.config["PAGE_CACHE_SECONDS"])
            response.headers["X-Page-Cache"] = "miss"
        response.set_data(_with_token(html))
        return response

    return wrapped
