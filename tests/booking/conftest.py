"""Booking fixtures: a studio with default settings and a custom piece."""

from __future__ import annotations

import pytest

from app.booking import services
from app.common.transactions import atomic


@pytest.fixture
def studio(app_ctx):
    """The app context with the studio's default settings in place."""
    with atomic():
        services.get_settings()
    return app_ctx


@pytest.fixture
def custom_product(studio):
    from tests.factories import make_product

    return make_product("bespoke-test-tiara", kind="tiara", tier="custom", metals=("silver",))


@pytest.fixture
def pg_studio(app):
    """The app (not its context) with the studio's settings committed, for concurrent workers."""
    with app.app_context(), atomic():
        services.get_settings()
    return app
