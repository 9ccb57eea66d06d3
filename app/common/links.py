"""Links that leave the site: absolute URLs on the configured public base, and signed values
for links sent to people without a login (orders, bookings, repairs...)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# A process keeps at most this many public links it built (odd values cannot grow it further).
PUBLIC_URLS_KEPT = 4096


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint`` on ``PUBLIC_BASE_URL``, whatever host the request named.

    Every link that leaves the site (mail, QR codes, payment return pages) is built here, so a
    forged ``Host`` header can never send someone a link to another site. Works without a request
    (CLI, cron jobs).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    public_base = app.config["PUBLIC_BASE_URL"]
    # The answer depends on nothing else, so each process builds each link once.
    memo = app.extensions.setdefault("diadem_public_urls", {})
    key = (public_base, endpoint, tuple(values.items()))
    try:
        url = memo.get(key)
    except TypeError:  # a value that cannot be a key (a list)
        key, url = None, None
    if url is None:
        base = urlsplit(public_base)
        adapter = app.url_map.bind(
            base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
        )
        url = adapter.build(endpoint, values, force_external=True)
        if key is not None:
            if len(memo) > PUBLIC_URLS_KEPT:
                memo.clear()
            memo[key] = url
    return url


class LinkExpired(Exception):
    """The signature is good but older than allowed."""


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=salt)


def sign(value: Any, *, salt: str) -> str:
    """Sign a JSON-serialisable value for use in a link; each purpose has its own salt."""
    return _serializer(salt).dumps(value)


def unsign(token: str, *, salt: str, max_age: int | None = None) -> Any | None:
    """The value behind a token, or None if it was forged, mangled or (with max_age) too old."""
    try:
        return read_signed(token, salt=salt, max_age=max_age)
    except LinkExpired:
        return None


def read_signed(token: str, *, salt: str, max_age: int | None = None) -> Any | None:
    """Like ``unsign`` but raise LinkExpired for a genuine token past ``max_age`` seconds."""
    try:
        return _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkExpired(str(exc)) from exc
    except (BadSignature, TypeError, ValueError):
        return None
