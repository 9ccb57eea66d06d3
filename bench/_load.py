"""A small closed-loop HTTP load generator for the benchmarks (loopback only)."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class LoadResult:
    label: str
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: tuple[float, ...]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index]

    def line(self) -> str:
        return (
            f"{self.label:<28} clients={self.clients:<3} req/s={self.rps:8.1f} "
            f"p50={self.percentile(50):7.2f} ms  p99={self.percentile(99):7.2f} ms  "
            f"mean={statistics.fmean(self.latencies_ms):7.2f} ms  errors={self.errors}"
        )


def run_load(
    url: str,
    *,
    clients: int,
    seconds: float,
    label: str,
    warmup: float = 1.0,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Hit url from `clients` threads for `seconds` (after a warm-up); each waits for its answer."""
    parts = urlsplit(url)
    assert parts.hostname in {"127.0.0.1", "localhost"}, "benchmarks talk to loopback only"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start_measure = time.perf_counter() + warmup
    stop = start_measure + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        local: list[float] = []
        local_errors = 0
        while True:
            began = time.perf_counter()
            if began >= stop:
                break
            try:
                conn.request(method, path, body=body, headers=headers or {})
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            ended = time.perf_counter()
            if began >= start_measure:
                if ok:
                    local.append((ended - began) * 1000)
                else:
                    local_errors += 1
        conn.close()
        with lock:
            latencies.extend(local)
            errors[0] += local_errors

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return LoadResult(label, clients, len(latencies), errors[0], seconds, tuple(latencies))
