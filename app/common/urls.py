"""Links built once per process: an endpoint's URL for given values is the same all day.

Werkzeug builds a URL by walking its rule's converters, some ten microseconds each time, and a
product page asks for about forty, most the same on every page (the header, the footer, the
static files, the pictures). The templates' ``url_for`` keeps what it built, keyed by everything
the answer depends on: the endpoint and its values, the request's script root, and its
blueprint for a relative ``.endpoint`` or its host for ``_external``. (``links.public_url``
keeps its own links the same way: they are on the configured base whatever the request.)

Nothing is kept while the app has URL-default callbacks (``url_defaults``): those could make
the same call answer differently per request.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask, url_for
from flask.globals import _cv_request

# A process keeps at most this many links; past that it starts again (odd values cannot grow it).
MEMO_SIZE = 4096


def _memo(app: Flask, name: str) -> dict[Hashable, str]:
    memos = app.extensions.setdefault("diadem_url_memos", {})
    memo = memos.get(name)
    if memo is None or len(memo) > MEMO_SIZE:
        memo = memos[name] = {}
    return memo


def _remembered(app: Flask, name: str, key: Hashable, build: Callable[[], str]) -> str:
    if app.url_default_functions and any(app.url_default_functions.values()):
        return build()
    memo = _memo(app, name)
    try:
        url = memo.get(key)
    except TypeError:  # a value that cannot be a key (a list): build it every time
        return build()
    if url is None:
        url = memo[key] = build()
    return url


def template_url_for(endpoint: str, **values: Any) -> str:
    """``flask.url_for``, remembered per script root (and blueprint or host where they count)."""
    # The request context itself rather than the request and current_app proxies: this runs
    # some forty times a page, and each proxy lookup costs as much as the memo.
    ctx = _cv_request.get(None)
    if ctx is None:
        return url_for(endpoint, **values)
    req = ctx.request
    key = (
        req.root_path,
        req.blueprint if endpoint[:1] == "." else None,
        req.host_url if values.get("_external") else None,
        endpoint,
        tuple(values.items()),
    )
    return _remembered(ctx.app, "url_for", key, lambda: url_for(endpoint, **values))


def init_app(app: Flask) -> None:
    """Give the templates the remembering ``url_for``."""
    app.jinja_env.globals["url_for"] = template_url_for
