"""Shared fixtures: one fresh database per test, on SQLite or on PostgreSQL.

Set DIADEM_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
the whole suite on PostgreSQL; by default each test gets its own SQLite file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app import create_app
from app.extensions import db
from tests.s3 import s3_endpoint, s3_settings  # noqa: F401  (fixtures: a fake S3, see tests/s3.py)

POSTGRES_URL = os.environ.get("DIADEM_TEST_DATABASE_URL", "")


def _reuse_compiled_url_rules() -> None:
    """Let the session's apps share Werkzeug's compiled URL rules (tests only).

    Every test builds its own app, and Werkzeug compiles each of the ~210 rules again: a Python
    function per rule built from an AST, and a regex scan of each converter's arguments. That
    was 88 of create_app's 90 ms of CPU. Both are pure functions of the rule's own text and
    defaults (the builder takes the rule as its first argument), so one copy serves every app;
    create_app drops to about 10 ms. Without these private names (another Werkzeug) the tests
    only run slower.
    """
    from dataclasses import replace
    from functools import lru_cache

    from werkzeug.routing import rules

    compile_builder = getattr(rules.Rule, "_compile_builder", None)
    if compile_builder is None or not hasattr(rules, "parse_converter_args"):
        return
    builders: dict[tuple, object] = {}

    def reused_builder(rule: rules.Rule, append_unknown: bool = True):
        defaults = repr(sorted((rule.defaults or {}).items()))
        key = (rule.rule, tuple(rule._trace), defaults, append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    rules.Rule._compile_builder = reused_builder
    rules.parse_converter_args = lru_cache(maxsize=None)(rules.parse_converter_args)

    # Parsing each rule's text into parts (a regex walk per rule) was then about 40 % of an app's
    # CPU (42 -> 25 ms an app measured with it cached, on a loaded machine). The parts are a pure
    # function of the text and the map's converter classes; each app still gets its own
    # converter objects (made by its own map) and its own copies of the parts.
    parse_rule = getattr(rules.Rule, "_parse_rule", None)
    if parse_rule is None or not hasattr(rules, "RulePart"):
        return
    parsed: dict[tuple, tuple[list, list, list]] = {}

    def reused_parse(rule: rules.Rule, text: str) -> list:
        key = (text, tuple(sorted(rule.map.converters.items())))
        if key not in parsed:
            made: list[tuple] = []

            def note_converter(variable, name, args, kwargs):
                made.append((variable, name, args, kwargs))
                return type(rule).get_converter(rule, variable, name, args, kwargs)

            traced = len(rule._trace)
            rule.get_converter = note_converter
            try:
                parts = list(parse_rule(rule, text))
            finally:
                del rule.get_converter
            parsed[key] = (parts, rule._trace[traced:], made)
            return [replace(part) for part in parts]
        parts, trace, made = parsed[key]
        rule._trace.extend(trace)
        for variable, name, args, kwargs in made:
            rule._converters[variable] = rule.get_converter(variable, name, args, kwargs)
            rule.arguments.add(variable)
        return [replace(part) for part in parts]

    rules.Rule._parse_rule = reused_parse


_reuse_compiled_url_rules()


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, connection_record) -> None:
    """Test databases are thrown away: no fsync and no journal file on each commit.

    SQLite's commit waited for the disk (about 10 ms here) and created and deleted a journal file
    every transaction; locking between connections is unchanged, so the SQLite concurrency tests
    still meet each other's locks.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.close()


class _SessionBytecodeCache(BytecodeCache):
    """Compiled templates kept for the session's apps (tests only).

    Each test's app has its own Jinja environment, which compiled every template it rendered
    again (lexing, parsing, code generation: a few seconds a module). Jinja checks each entry
    against the template's source checksum, so an edited template is compiled afresh.
    """

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._compiled:
            bucket.bytecode_from_string(self._compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _SessionBytecodeCache()


def _settings(database_url: str, tmp_path: Path) -> dict:
    return {
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
        # A cheap password hash: scrypt costs ~0.1 s a hash and was a third of some modules'
        # time. The real configuration's scrypt is pinned by tests/accounts/test_passwords.py.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SERVER_NAME": "diadem.test",
        "PUBLIC_BASE_URL": "http://diadem.test",
    }


@pytest.fixture(scope="session")
def _empty_schema(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Build the schema once per session: a SQLite file to copy, or the PostgreSQL tables.

    Creating ~50 tables costs about 0.3 s; a test then starts from a copy of the empty file
    (SQLite) or from the same tables truncated (PostgreSQL), which is what a fresh database
    looks like to it, for a few milliseconds.
    """
    folder = tmp_path_factory.mktemp("schema")
    url = POSTGRES_URL or f"sqlite:///{folder / 'empty.sqlite3'}"
    app = create_app(_settings(url, folder))
    with app.app_context():
        _rebuild_schema() if POSTGRES_URL else db.create_all()
        fingerprint = _schema_fingerprint() if POSTGRES_URL else ""
        db.session.remove()
        db.engine.dispose()
    return str(folder / "empty.sqlite3") if not POSTGRES_URL else fingerprint


def _schema_fingerprint() -> str:
    """Tables, columns, indexes, constraints and triggers of the PostgreSQL schema, in one row.

    A test that drops a trigger or a table (tamper tests, migration tests) changes it, and the
    next test then gets the schema rebuilt rather than inheriting the damage.
    """
    from sqlalchemy import text

    row = db.session.execute(
        text(
            "SELECT (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables"
            "        WHERE schemaname = 'public'),"
            " (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            "   JOIN pg_namespace n ON n.oid = c.relnamespace"
            "   WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped),"
            " (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'),"
            " (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            "   WHERE n.nspname = 'public'),"
            " (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)"
        )
    ).one()
    db.session.rollback()
    return "|".join(str(value) for value in row)


def _rebuild_schema() -> None:
    """Drop everything in PostgreSQL's public schema (tables a test added too) and create ours."""
    from sqlalchemy import text

    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.create_all()


def _reset_postgres(fingerprint: str) -> None:
    """Empty every table and restart every sequence; rebuild the schema if a test changed it.

    DELETE rather than TRUNCATE: TRUNCATE gives each table a new file, which costs more than
    emptying fifty small tables. Replica mode lets the DELETE past the foreign keys and the
    provenance table's append-only trigger (the tests connect as a superuser).
    """
    from sqlalchemy import text

    if _schema_fingerprint() != fingerprint:
        _rebuild_schema()
        return
    statements = ["SET LOCAL session_replication_role = replica"]
    statements += [f'DELETE FROM "{table.name}"' for table in db.metadata.sorted_tables]
    statements.append(
        "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'"
    )
    db.session.execute(text("; ".join(statements)))
    db.session.commit()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return POSTGRES_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def app(database_url: str, tmp_path: Path, _empty_schema: str) -> Iterator[Flask]:
    if not POSTGRES_URL:
        shutil.copyfile(_empty_schema, tmp_path / "test.sqlite3")
    app = create_app(_settings(database_url, tmp_path))
    app.jinja_env.bytecode_cache = _TEMPLATES
    if POSTGRES_URL:
        with app.app_context():
            _reset_postgres(_empty_schema)
    yield app
    with app.app_context():
        db.session.remove()
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


def _names_postgres(path: Path, cache: dict[Path, bool]) -> bool:
    """Whether a test module, or a conftest between it and this one, names the PostgreSQL URL."""
    if path not in cache:
        folders = [folder for folder in path.parents if _TESTS in folder.parents]
        sources = [path, *(folder / "conftest.py" for folder in folders)]
        cache[path] = any(
            "POSTGRES_URL" in source.read_text(encoding="utf-8")
            for source in sources
            if source.is_file()
        )
    return cache[path]


_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, run only the tests that can meet the database.

    A test that asks for no database fixture and whose module never names the PostgreSQL URL
    does exactly the same work on both passes (geometry, money, pure rules, drawing): it runs
    once, on SQLite. The PostgreSQL pass reports how many it left to the SQLite one.
    """
    if not POSTGRES_URL:
        return
    cache: dict[Path, bool] = {}
    keep, once = [], []
    for item in items:
        uses_database = "database_url" in getattr(item, "fixturenames", ())
        if uses_database or _names_postgres(Path(str(item.fspath)).resolve(), cache):
            keep.append(item)
        else:
            once.append(item)
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = keep
