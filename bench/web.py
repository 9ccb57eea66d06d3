"""Web benchmark: catalog and product pages vs a minimal route under gunicorn on PostgreSQL.

Run: .venv/bin/python bench/web.py [--seconds 10] [--clients 16] [--redis-url URL] [--signed-in]

One run seeds a throwaway PostgreSQL database and starts gunicorn (2 sync workers, the given
topology: 2 x cores on this 2-core machine) twice: with the guest page cache off, then on. Each
time it loads `/healthz` (no database, no template) and the catalog and product pages in turn
and prints requests/s, p50/p99 and each page's throughput as a share of `/healthz`'s measured
on the same server a moment before. The cache is per worker unless --redis-url is given.

With --signed-in every request carries a signed-in buyer's session cookie (an account made for
the run, signed in through the login form), with their account and cart read on each request:
first with the page cache off (every page rendered for them), then on (customers share the
guests' copy; their account links and cart count are filled in per request).

Targets (issue 16): uncached product and catalog pages >= 0.30 of `/healthz`, p99 < 50 ms at
16 clients. Not a test: figures depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import LoadResult, run_load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
# Its own database per run, so two people benchmarking at once do not drop each other's.
DATABASE = f"diadem_bench_{os.getpid()}"
PAGES = [
    ("minimal route /healthz", "/healthz"),
    ("catalog /shop", "/shop"),
    ("product /shop/aurelia-crown", "/shop/aurelia-crown?size=M&metal=yellow-gold"),
]
TARGET_RATIO = 0.30
TARGET_P99_MS = 50.0
BUYER_EMAIL = "bench-buyer@example.com"
BUYER_PASSWORD = "bench-only-password-1"
# Run with the bench's environment: a confirmed customer account to sign in as.
MAKE_BUYER = f"""
from app import create_app
from app.accounts.models import User
from app.extensions import db
with create_app().app_context():
    user = User(email={BUYER_EMAIL!r}, name="Bench Buyer")
    user.set_password({BUYER_PASSWORD!r})
    db.session.add(user)
    db.session.commit()
"""
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(sql)


def prepare_database(env: dict[str, str], seed_args: list[str]) -> None:
    admin(f"DROP DATABASE IF EXISTS {DATABASE}")
    admin(f"CREATE DATABASE {DATABASE}")
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo", *seed_args], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "-c", MAKE_BUYER], cwd=ROOT, env=env, check=True)


def sign_in(base: str) -> dict[str, str]:
    """Sign the bench's buyer in through the login form; the Cookie header that carries it."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/account/login", timeout=10) as response:
        token = CSRF_FIELD.search(response.read().decode()).group(1)
    form = {"csrf_token": token, "email": BUYER_EMAIL, "password": BUYER_PASSWORD}
    # Following the redirect shows the "signed in" message, so no page carries it afterwards.
    with opener.open(base + "/account/login", urllib.parse.urlencode(form).encode(), timeout=10):
        pass
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    # The pages must be rendered for the buyer (a sign-out form in the header), not a guest's.
    check = urllib.request.Request(base + "/shop", headers={"Cookie": cookies})
    with urllib.request.urlopen(check, timeout=10) as response:
        if "/account/logout" not in response.read().decode():
            raise SystemExit("the bench buyer could not sign in")
    return {"Cookie": cookies}


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
    parser.add_argument("--redis-url", help="share the page cache in Redis (default: per worker)")
    parser.add_argument(
        "--no-artwork",
        dest="artwork",
        action="store_false",
        help="seed without drawing pictures (pages then have no img tags)",
    )
    parser.add_argument(
        "--signed-in",
        action="store_true",
        help="load the pages as a signed-in buyer",
    )
    args = parser.parse_args()

    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(
        {
            "DATABASE_URL": f"{PG}/{DATABASE}",
            "SECRET_KEY": "bench-only-secret",
            "DIADEM_MEDIA_ROOT": f"/tmp/{DATABASE}-media",
            "DIADEM_MAIL_OUTBOX": f"/tmp/{DATABASE}-outbox",
        }
    )
    if args.redis_url:
        env["DIADEM_CACHE_REDIS_URL"] = args.redis_url
    prepare_database(env, [] if args.artwork else ["--no-artwork"])
    print(
        f"# gunicorn 2 sync workers, PostgreSQL, {args.clients} clients, {args.seconds:g} s per "
        f"page, {os.cpu_count()} cores, load average before {os.getloadavg()[0]:.2f}"
    )
    try:
        # The pages' own cost first, then what the shared page cache makes of it.
        visitor = "signed-in buyer" if args.signed_in else "guest"
        uncached = measure(
            dict(env, DIADEM_PAGE_CACHE_SECONDS="0"), f"{visitor}, page cache off", args
        )
        cache_kind = "Redis" if args.redis_url else "per worker"
        mode = f"{visitor}, page cache on (5 s, {cache_kind})"
        cached = measure(dict(env, DIADEM_PAGE_CACHE_SECONDS="5"), mode, args)
    finally:
        admin(f"DROP DATABASE IF EXISTS {DATABASE}")
    print(f"# load average after {os.getloadavg()[0]:.2f}")
    summary({"off": uncached, "on": cached})


def measure(env: dict[str, str], mode: str, args: argparse.Namespace) -> dict[str, LoadResult]:
    """Start gunicorn with env, load each page in turn and print the figures."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen([*command, "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz")
        headers = sign_in(base) if args.signed_in else {}
        print(f"\n== {mode}")
        results = {}
        for label, path in PAGES:
            results[label] = run_load(
                base + path,
                clients=args.clients,
                seconds=args.seconds,
                label=label,
                headers=headers,
            )
            print(results[label].line())
        return results
    finally:
        server.terminate()
        server.wait(timeout=10)


def summary(by_mode: dict[str, dict[str, LoadResult]]) -> None:
    """Print each mode's figures; the targets are checked on the first (the uncached pages)."""
    print(f"\n{'page':<28} {'mode':<9} {'req/s':>8} {'x healthz':>9} {'p50 ms':>7} {'p99 ms':>7}")
    for mode, results in by_mode.items():
        minimal = results[PAGES[0][0]]
        for label, _ in PAGES:
            r = results[label]
            print(
                f"{label:<28} {mode:<9} {r.rps:>8.1f} {r.rps / minimal.rps:>9.2f} "
                f"{r.percentile(50):>7.1f} {r.percentile(99):>7.1f}"
            )
    uncached = next(iter(by_mode.values()))
    minimal = uncached[PAGES[0][0]]
    for label, _ in PAGES[1:]:
        r = uncached[label]
        ratio, p99 = r.rps / minimal.rps, r.percentile(99)
        verdict = "met" if ratio >= TARGET_RATIO and p99 < TARGET_P99_MS else "MISSED"
        print(
            f"# target uncached {label.split()[0]}: >= {TARGET_RATIO:.2f} x healthz and p99 < "
            f"{TARGET_P99_MS:g} ms: {ratio:.2f} x, p99 {p99:.1f} ms ({verdict})"
        )


if __name__ == "__main__":
    main()
