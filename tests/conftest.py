"""Shared fixtures: one fresh database per test, on SQLite or on PostgreSQL.

Set DIADEM_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
the whole suite on PostgreSQL; by default each test gets its own SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from tests.s3 import s3_endpoint, s3_settings  # noqa: F401  (fixtures: a fake S3, see tests/s3.py)

POSTGRES_URL = os.environ.get("DIADEM_TEST_DATABASE_URL", "")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return POSTGRES_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MEDIA_ROOT": str(tmp_path / "media"),
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
            "UPLOADS_ROOT": str(tmp_path / "uploads"),
            "PROVENANCE_KEY_PATH": str(tmp_path / "provenance.pem"),
            "MAIL_TRANSPORT": "outbox",
            "RATELIMIT_STORAGE_URI": "memory://",
            "REDIS_URL": None,  # jobs run in-process unless a test gives Redis
            "PAGE_CACHE_SECONDS": 0,
            "SERVER_NAME": "diadem.test",
            "PUBLIC_BASE_URL": "http://diadem.test",
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


@pytest.fixture
def seeded(app: Flask) -> Flask:
    """The demo atelier without artwork (drawing it is tested on its own)."""
    from app.common.transactions import atomic
    from app.demo.seed import seed_demo

    with app.app_context(), atomic():
        seed_demo(media_root=app.config["MEDIA_ROOT"], draw_artwork=False)
    return app


@pytest.fixture
def csrf_app(app: Flask) -> Flask:
    """The app with CSRF checks on (they are on by default; this fixture documents the intent)."""
    assert app.config.get("WTF_CSRF_ENABLED", True)
    return app
