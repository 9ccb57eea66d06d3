"""Two gunicorn app servers, each with its own instance folder, in front of one PostgreSQL, one
Redis and one S3 API (moto's server): the production shape, on loopback.

Runs in the PostgreSQL pass only (it needs a real shared database). The servers are started once
per module; every test talks to them over HTTP like a browser would.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATABASE = "diadem_topology"
REDIS_URL = "redis://127.0.0.1:6379/9"  # a database of its own, flushed per module
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ADMIN = ("owner@example.com", "correct horse battery")

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="two servers share a PostgreSQL database (the PostgreSQL pass)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{DATABASE}"


def _recreate_database() -> None:
    import psycopg

    dsn = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def _flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


@dataclass
class Topology:
    env: dict[str, str]
    a: str
    b: str
    instances: dict[str, Path]

    def flask(self, *args: str, instance: str = "a", **kwargs) -> subprocess.CompletedProcess:
        """Run ``flask --app wsgi ARGS`` as server ``instance`` would (its own instance folder)."""
        env = {**self.env, "DIADEM_INSTANCE_PATH": str(self.instances[instance])}
        return subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            **kwargs,
        )

    def outbox(self) -> list[Path]:
        """Every message written by any server or worker (the outbox transport's .eml files)."""
        return sorted(p for folder in self.instances.values() for p in folder.glob("outbox/*.eml"))


class Browser(requests.Session):
    """A visitor with cookies, reading CSRF tokens from pages as a browser would."""

    def token(self, url: str) -> str:
        page = self.get(url, timeout=30)
        match = CSRF.search(page.text)
        assert match, f"no CSRF token on {url} ({page.status_code})"
        return match.group(1)

    def sign_in(self, base: str, email: str, password: str) -> None:
        data = {
            "email": email,
            "password": password,
            "csrf_token": self.token(base + "/account/login"),
        }
        response = self.post(base + "/account/login", data=data, allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text[:500]


def _start(
    name: str, env: dict[str, str], instance: Path, log: Path
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    command += ["--access-logfile", "-", "--name", f"diadem-{name}", "wsgi:app"]
    with log.open("wb") as out:  # the server keeps its own copy of the descriptor
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, "DIADEM_INSTANCE_PATH": str(instance)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(base + "/healthz", timeout=5).status_code == 200:
                return process, base
        except requests.RequestException:  # not listening yet, or still importing
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            pytest.fail(f"server {name} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _prepare(env: dict[str, str], instance: Path) -> None:
    """Migrate the shared database, add try-on pieces (artwork in the bucket) and an admin."""
    from app import create_app
    from app.accounts import services as accounts
    from app.accounts.models import Role
    from app.catalog.models import Metal, Overlay, Product
    from app.common.storage import media_storage
    from app.common.transactions import atomic
    from app.extensions import db
    from tests.factories import make_product
    from tests.tryon.helpers import MAGENTA, SPEC, overlay_png

    saved = dict(os.environ)
    os.environ.update({**env, "DIADEM_INSTANCE_PATH": str(instance)})
    try:
        app = create_app()
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            make_product("test-crown", metals=("yellow-gold", "silver"), edition_size=50)
            key = "test-crown/overlay-yellow-gold.png"
            media_storage().put(key, overlay_png(MAGENTA), content_type="image/png")
            with atomic():
                product = db.session.execute(
                    db.select(Product).filter_by(slug="test-crown")
                ).scalar_one()
                metal = db.session.execute(
                    db.select(Metal).filter_by(code="yellow-gold")
                ).scalar_one()
                db.session.add(
                    Overlay(product_id=product.id, metal_id=metal.id, path=key, spec=SPEC)
                )
                accounts.register_user(
                    email=ADMIN[0], password=ADMIN[1], name="Orla Owner", role=Role.ADMIN
                )
            db.session.remove()
            db.engine.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def topology(s3_endpoint: str, tmp_path_factory) -> Iterator[Topology]:
    """Servers A and B (two gunicorn workers each), sharing PostgreSQL, Redis and the bucket."""
    import boto3

    from tests.s3 import FAKE_CREDENTIALS

    _recreate_database()
    _flush_redis()
    folder = tmp_path_factory.mktemp("topology")
    bucket = "diadem-topology"
    s3 = boto3.session.Session().client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=bucket)
    key_file = folder / "provenance.pem"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DIADEM_", "AWS_"))},
        **FAKE_CREDENTIALS,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "topology-secret-shared-by-every-server",
        "DIADEM_PUBLIC_BASE_URL": "http://127.0.0.1",
        "DIADEM_SECURE_COOKIES": "0",
        "DIADEM_STORAGE": "s3",
        "DIADEM_S3_BUCKET": bucket,
        "DIADEM_S3_ENDPOINT_URL": s3_endpoint,
        "DIADEM_S3_REGION": "us-east-1",
        "DIADEM_PROVENANCE_SIGNING_KEY": str(key_file),
        # Long enough that only an invalidation, never the clock, can show a new price.
        "DIADEM_PAGE_CACHE_SECONDS": "300",
        "DIADEM_TRYON_PHOTO_RATE_LIMIT": "4 per minute",
        # Mail goes through SMTP, which is down until a test starts it; retries come quickly.
        "DIADEM_MAIL_TRANSPORT": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(free_port()),
        "DIADEM_OUTBOX_RETRY_SECONDS": "1",
    }
    instances = {name: folder / f"instance-{name}" for name in ("a", "b", "worker")}
    for path in instances.values():
        path.mkdir()
    _prepare(env, instances["a"])
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "provenance-keygen", "--path", str(key_file)],
        cwd=ROOT,
        env={**env, "DIADEM_INSTANCE_PATH": str(instances["a"])},
        check=True,
        capture_output=True,
    )
    server_a, base_a = _start("a", env, instances["a"], folder / "a.log")
    server_b, base_b = _start("b", env, instances["b"], folder / "b.log")
    try:
        yield Topology(env=env, a=base_a, b=base_b, instances=instances)
    finally:
        _stop(server_a)
        _stop(server_b)
        shutil.rmtree(folder, ignore_errors=True)
