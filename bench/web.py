"""Web benchmark: catalog and product pages vs a minimal Flask route under gunicorn on PostgreSQL.

Run: .venv/bin/python bench/web.py [--seconds 10] [--clients 16]
Prints requests/s and p50/p99 per page and the ratio product-page / minimal route.
Targets (issue 2): product page >= 50% of the minimal route's throughput; p99 < 50 ms at 16 clients.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import run_load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(env: dict[str, str], seed_args: list[str]) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS diadem_bench")
        c.execute("CREATE DATABASE diadem_bench")
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo", *seed_args], cwd=ROOT, env=env, check=True)


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not come up at {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--no-artwork",
        dest="artwork",
        action="store_false",
        help="seed without drawing pictures (pages then have no img tags)",
    )
    args = parser.parse_args()

    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"{PG}/diadem_bench",
            "SECRET_KEY": "bench-only-secret",
            "DIADEM_MEDIA_ROOT": "/tmp/diadem-bench-media",
            "DIADEM_MAIL_OUTBOX": "/tmp/diadem-bench-outbox",
        }
    )
    prepare_database(env, [] if args.artwork else ["--no-artwork"])
    # The guest page cache is on in production; the uncached figures show the pages' own cost.
    for mode, seconds in (("guest page cache on (5 s)", "5"), ("guest page cache off", "0")):
        measure(dict(env, DIADEM_PAGE_CACHE_SECONDS=seconds), mode, args)


def measure(env: dict[str, str], mode: str, args: argparse.Namespace) -> None:
    """Start gunicorn with env, load the three routes in turn and print the figures."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen([*command, "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz")
        print(f"\n== {mode}: gunicorn 2 sync workers, PostgreSQL, {args.clients} clients")
        results = {}
        for label, path in [
            ("minimal route /healthz", "/healthz"),
            ("catalog /shop", "/shop"),
            ("product /shop/aurelia-crown", "/shop/aurelia-crown?size=M&metal=yellow-gold"),
        ]:
            results[label] = run_load(
                base + path, clients=args.clients, seconds=args.seconds, label=label
            )
            print(results[label].line())
        minimal = results["minimal route /healthz"]
        product = results["product /shop/aurelia-crown"]
        catalog = results["catalog /shop"]
        print(f"ratio product/minimal throughput: {product.rps / minimal.rps:.2f} (target >= 0.50)")
        print(f"ratio catalog/minimal throughput: {catalog.rps / minimal.rps:.2f}")
        print(f"product p99: {product.percentile(99):.1f} ms (target < 50 ms)")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
