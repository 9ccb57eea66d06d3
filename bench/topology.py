"""The whole topology under load: two app servers and a worker on one PostgreSQL, Redis and S3.

Run: .venv/bin/python bench/topology.py [--seconds 20] [--clients 8]

Each client is a buyer on loopback, alternating between the servers: browse the catalogue and a
product, try the piece on (a live pose frame), add a numbered piece to the cart and check out by
bank transfer (a fresh browser and address each round, so the per-buyer limit never speaks).
Prints requests/s, p50/p99 per step, errors, and /healthz on the same servers as the baseline;
then checks that no numbered piece was sold twice. Needs PostgreSQL, Redis and moto_server.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import run_load  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402

from tests.s3 import FAKE_CREDENTIALS, moto_server_command, running_moto_server  # noqa: E402
from tests.topology.servers import (  # noqa: E402
    BIN,
    REDIS_URL,
    Browser,
    database_url,
    flush_redis,
    prepare,
    recreate_database,
    start_server,
    stop_server,
)
from tests.tryon.helpers import astronaut_jpeg  # noqa: E402

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
STEPS = ("browse", "try on", "add to cart", "checkout")


def environment(endpoint: str, bucket: str, folder: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DIADEM_", "AWS_"))},
        **FAKE_CREDENTIALS,
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "bench-secret-shared-by-every-server",
        "DIADEM_PUBLIC_BASE_URL": "http://127.0.0.1",
        "DIADEM_SECURE_COOKIES": "0",
        "DIADEM_STORAGE": "s3",
        "DIADEM_S3_BUCKET": bucket,
        "DIADEM_S3_ENDPOINT_URL": endpoint,
        "DIADEM_S3_REGION": "us-east-1",
        "DIADEM_PROVENANCE_SIGNING_KEY": str(folder / "provenance.pem"),
    }


class FromAddress(HTTPAdapter):
    """Connect from one loopback address: each buyer is its own client to the rate limits."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


class Buyer:
    """One client's loop of rounds; records each step's latency and any error."""

    emails = itertools.count()

    def __init__(self, servers: list[str], frame: bytes, stop: float, address: str) -> None:
        self.servers, self.frame, self.stop, self.address = servers, frame, stop, address
        self.metal = "yellow-gold"
        self.latencies: dict[str, list[float]] = {step: [] for step in STEPS}
        self.errors: list[str] = []
        self.orders = 0
        self.sold_out = 0

    def timed(self, step: str, call):
        began = time.perf_counter()
        response = call()
        self.latencies[step].append((time.perf_counter() - began) * 1000)
        if response.status_code >= 500:
            self.errors.append(f"{step}: {response.status_code}")
        return response

    def round(self, base: str, other: str) -> None:
        browser = Browser()
        browser.mount("http://", FromAddress(self.address))
        stream = os.urandom(16).hex()
        self.timed("browse", lambda: browser.get(base + "/shop", timeout=30))
        product = self.timed("browse", lambda: browser.get(other + "/shop/test-crown", timeout=30))
        self.timed(
            "try on",
            # As the page sends it: the JPEG as the body, the piece and its camera stream
            # (a new one each round, as each round is a new browser) in the query.
            lambda: browser.post(
                base + "/tryon/api/pose",
                params={"product": "test-crown", "metal": "yellow-gold", "stream": stream},
                data=self.frame,
                headers={"Content-Type": "image/jpeg"},
                timeout=30,
            ),
        )
        piece = re.search(r'name="product_id"[^>]*value="(\d+)"', product.text)
        if piece is None:  # the edition has sold out: the page offers no cart form
            self.sold_out += 1
            return
        form = {
            "csrf_token": CSRF.search(product.text).group(1),
            "product_id": piece.group(1),
            "metal": self.metal,
            "size": "M",
            "quantity": "1",
        }
        added = self.timed(
            "add to cart", lambda: browser.post(other + "/cart/items", data=form, timeout=30)
        )
        if "sold out" in added.text or "still free" in added.text:
            self.sold_out += 1
            return
        page = browser.get(base + "/checkout", timeout=30)
        data = {
            "csrf_token": CSRF.search(page.text).group(1),
            "email": f"bench{next(self.emails)}@example.com",
            "name": "Bench Buyer",
            "address_line1": "1 Load Lane",
            "city": "London",
            "postal_code": "N1 1AA",
            "country": "GB",
            "payment_method": "manual",
            "accept_policy": "y",
        }
        placed = self.timed(
            "checkout",
            lambda: browser.post(base + "/checkout", data=data, allow_redirects=False, timeout=30),
        )
        if placed.status_code == 302 and "/account/orders/" in placed.headers.get("Location", ""):
            self.orders += 1
        elif "sold out" in placed.text or "just taken" in placed.text:
            self.sold_out += 1

    def run(self) -> None:
        for i in itertools.count():
            if time.monotonic() >= self.stop:
                return
            base, other = self.servers[i % 2], self.servers[(i + 1) % 2]
            self.metal = ("yellow-gold", "silver")[(i // 2) % 2]
            try:
                self.round(base, other)
            except Exception as exc:  # a dropped connection is an error to report, not a crash
                self.errors.append(f"{type(exc).__name__}: {exc}"[:200])


def pose_frame() -> bytes:
    """A 320 px live frame of a real face, as the try-on page sends it."""
    return astronaut_jpeg(320)


def oversold(env: dict[str, str], instance: Path) -> tuple[int, int, int]:
    """(live order lines holding a piece, distinct pieces they hold, pieces reserved or sold)."""
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=diadem_topology") as conn:
        live, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT piece_id) FROM order_lines "
            "WHERE piece_id IS NOT NULL AND piece_released_at IS NULL"
        ).fetchone()
        taken = conn.execute(
            "SELECT count(*) FROM pieces WHERE status IN ('reserved', 'sold')"
        ).fetchone()[0]
    return live, distinct, taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    command = moto_server_command()
    if command is None:
        raise SystemExit("moto_server is missing: make install-test")
    folder = Path(tempfile.mkdtemp(prefix="diadem-topology-"))
    processes: list[subprocess.Popen] = []
    with running_moto_server(command) as endpoint:
        import boto3

        boto3.session.Session().client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        ).create_bucket(Bucket="diadem-bench")  # fmt: skip
        env = environment(endpoint, "diadem-bench", folder)
        instances = {name: folder / name for name in ("a", "b", "worker")}
        for path in instances.values():
            path.mkdir()
        recreate_database()
        flush_redis()
        prepare(env, instances["a"])
        keygen = ["provenance-keygen", "--path", env["DIADEM_PROVENANCE_SIGNING_KEY"]]
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *keygen],
            cwd=ROOT,
            env={**env, "DIADEM_INSTANCE_PATH": str(instances["a"])},
            check=True,
            capture_output=True,
        )
        try:
            a, base_a = start_server("a", env, instances["a"], folder / "a.log")
            processes.append(a)
            b, base_b = start_server("b", env, instances["b"], folder / "b.log")
            processes.append(b)
            with (folder / "worker.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [str(BIN / "flask"), "--app", "wsgi", "worker"],
                        cwd=ROOT,
                        env={**env, "DIADEM_INSTANCE_PATH": str(instances["worker"])},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )  # fmt: skip
                )
            report(args, [base_a, base_b], env, instances)
        finally:
            for process in processes:
                stop_server(process)
            shutil.rmtree(folder, ignore_errors=True)


def report(args, servers: list[str], env: dict[str, str], instances: dict[str, Path]) -> None:
    half = max(1, args.clients // 2)
    baseline = [
        run_load(f"{base}/healthz", clients=half, seconds=5, label=f"/healthz {name}")
        for name, base in zip("AB", servers, strict=True)
    ]
    healthz_rps = sum(result.rps for result in baseline)
    for result in baseline:
        print(result.line())
    frame = pose_frame()
    stop = time.monotonic() + args.seconds
    buyers = [Buyer(servers, frame, stop, f"127.0.0.{10 + i}") for i in range(args.clients)]
    began = time.perf_counter()
    threads = [threading.Thread(target=buyer.run) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    requests = sum(len(v) for buyer in buyers for v in buyer.latencies.values())
    print(f"\n{args.clients} buyers for {elapsed:.1f} s over servers A and B (+ worker):")
    for step in STEPS:
        times = sorted(t for buyer in buyers for t in buyer.latencies[step])
        if times:
            p99 = times[min(len(times) - 1, round(0.99 * len(times)) - 1)]
            print(
                f"  {step:<12} n={len(times):<5} p50={statistics.median(times):7.1f} ms"
                f"  p99={p99:7.1f} ms"
            )
    errors = [error for buyer in buyers for error in buyer.errors]
    rps = requests / elapsed
    print(
        f"  timed requests/s={rps:.1f}  (/healthz on both servers: {healthz_rps:.0f} req/s; "
        f"ratio {rps / healthz_rps:.3f})"
    )
    orders, sold_out = sum(b.orders for b in buyers), sum(b.sold_out for b in buyers)
    print(f"  orders placed={orders}  sold out={sold_out}  errors={len(errors)}")
    for error in errors[:10]:
        print(f"    {error}")
    live, distinct, taken = oversold(env, instances["a"])
    verdict = "none oversold" if live == distinct == taken else "OVERSOLD"
    print(f"  pieces held by live lines={live}, distinct={distinct}, reserved or sold={taken}")
    print(f"  {verdict}")


if __name__ == "__main__":
    main()
