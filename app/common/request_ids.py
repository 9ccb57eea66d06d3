"""A request id on every response (``X-Request-ID``) and every log line (``%(request_id)s``).

The id comes from the incoming ``X-Request-ID`` when the proxy sent a sane token, so one id
follows a request through the proxy's, gunicorn's and our logs; otherwise a random one is made.
Jobs carry the id of the request that queued them. Outside both a log line shows ``-``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, Response, g, has_request_context, request
from flask.logging import default_handler

HEADER = "X-Request-ID"
LOG_FORMAT = "[%(asctime)s] %(levelname)s %(request_id)s in %(module)s: %(message)s"
# Letters, digits and a few separators, as proxies and tracing systems make them; anything
# else (spaces, quotes, newlines that could forge log lines, 200 characters) is replaced.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")
_outside_requests: ContextVar[str] = ContextVar("diadem_request_id", default="-")


def current() -> str:
    """The current request's id, the running job's, or ``-``."""
    if has_request_context():
        if not g.get("request_id"):  # before assign_request_id ran, or a test's request context
            g.request_id = from_header(request.headers.get(HEADER))
        return g.request_id
    return _outside_requests.get()


@contextmanager
def bound(request_id: str) -> Iterator[None]:
    """Give log lines outside a request (a job, the scheduler) this id for the block."""
    token = _outside_requests.set(request_id)
    try:
        yield
    finally:
        _outside_requests.reset(token)


def from_header(value: str | None) -> str:
    """The incoming id if it is a sane token, else a new random one."""
    if value and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Add ``record.request_id`` so a formatter can print it (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current()
        return True


def install(app: Flask) -> None:
    """Call first in the factory, so the id exists before any other before_request can abort."""

    @app.before_request
    def assign_request_id() -> None:
        g.request_id = from_header(request.headers.get(HEADER))

    @app.after_request
    def send_request_id(response: Response) -> Response:
        response.headers[HEADER] = current()
        return response

    configure_handler(default_handler)


def configure_handler(handler: logging.Handler) -> None:
    """Make ``handler`` print request ids (idempotent: the handler may be shared by apps)."""
    if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
        handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
