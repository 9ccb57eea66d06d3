"""Errors of the returns feature; each message is for the person who asked."""

from __future__ import annotations


class ReturnError(Exception):
    """A return step that cannot be taken as asked."""


class ReturnNotFound(ReturnError):
    pass


class WindowClosed(ReturnError):
    """Before delivery or after the return window: the page offers a repair instead."""
