"""App servers as processes for the topology tests and bench/topology.py: gunicorn with its own
instance folder, a database prepared for them, and a visitor that reads CSRF tokens."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATABASE = "diadem_topology"
REDIS_URL = "redis://127.0.0.1:6379/9"  # a database of its own, flushed per module
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ADMIN = ("owner@example.com", "correct horse battery")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(base: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test") -> str:
    return base.rsplit("/", 1)[0] + f"/{DATABASE}"


def recreate_database() -> None:
    import psycopg

    dsn = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def flush_redis() -> None:
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


def start_server(
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
            stop_server(process)
            raise RuntimeError(f"server {name} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def prepare(env: dict[str, str], instance: Path) -> None:
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
