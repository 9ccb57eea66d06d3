"""Refuse input no part of the shop can store or look up, before any view sees it.

- ``<int:...>`` URL parts are database ids: the converter matches only 1 .. 2**31-1 (the range of
  an INTEGER column on PostgreSQL), so a longer number is a 404, not an overflow in the driver.
- A NUL character cannot be stored in PostgreSQL text; no form, query or path here needs one, so
  a request carrying one is a 400 with a message.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` for database ids: a positive integer that fits an INTEGER column."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 (werkzeug's name)
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_id(value: str | None) -> int | None:
    """A database id from a query string or form (``"42"``), else None: junk, 0 or past MAX_ID."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def _has_nul(values: Any) -> bool:
    if isinstance(values, str):
        return "\x00" in values
    if isinstance(values, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in values.items())
    if isinstance(values, list):
        return any(_has_nul(v) for v in values)
    return False


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_nul_bytes() -> None:
    current = request._get_current_object()  # once: this runs before every request
    fields = [current.path]
    sources = [current.args]
    # Only a form body is parsed as one: a try-on frame (image/jpeg) has no fields to look at.
    if current.mimetype in FORM_TYPES:
        sources.append(current.form)
    for multi in sources:
        for key, values in multi.lists():
            fields.append(key)
            fields.extend(values)
    if current.is_json:
        body = current.get_json(silent=True)
        if _has_nul(body):
            fields.append("\x00")
    if any("\x00" in field for field in fields):
        abort(400, description="The request contains a NUL character, which is never valid here.")


def install(app: Flask) -> None:
    """Call before the blueprints are registered (their rules pick the converter up then)."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul_bytes)
