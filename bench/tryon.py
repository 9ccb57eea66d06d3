"""Benchmark the live try-on endpoint through the real app: gunicorn, 2 workers, 127.0.0.1.

Run: python bench/tryon.py [--seconds S] [--clients 1,4,8] [--modes paced,closed]

It seeds a throwaway SQLite shop, starts gunicorn, and posts 320 px JPEG frames of a real face
(scikit-image's astronaut, drifting a little) to POST /tryon/api/pose from 1, 4 and 8 concurrent
clients, each from its own loopback address so the per-client rate limit applies as in production.

- paced: each client behaves like the page: the next frame only after the answer, and at most
  15 frames a second (the app's real rate limit is in force).
- closed: each client sends the next frame as soon as the answer arrives (the rate limit is
  raised for this run, or one fast client would be throttled): the server's capacity.

It prints frames/s, p50/p99 latency and the ratio of the one-client p50 to `ar`'s own end-to-end
time for the same work (header check, decode, landmarks, pose, placement, JSON) on the same
frames, measured in this process in the same run. It also times MediaPipe's own face mesh (still
mode, one face, refined landmarks: what the live engine runs) on the same decoded frames, the live
engine's measure + place, and prints the endpoint's one-client p50 against that floor.

The floor is measured the same way as the row it is compared with. Face mesh itself is slower
when frames arrive 66 ms apart than back to back (its threads and the CPU's caches go cold
between frames), so raw face mesh is also timed paced at the page's 15 frames a second, with
the same idle gap: the paced row's ratio is against that paced floor, the closed row's against
the back-to-back one. Both floors and both ratios of the paced row are printed.

It also times GET /healthz (a view that does nothing) from the same client, paced and back to
back: what HTTP, gunicorn and Flask cost under any endpoint, to set the pose path's own cost
(endpoint p50 minus that, minus face mesh) apart from the stack's.

Targets (issue 16): endpoint p50 <= 1.3 x raw face mesh on the same frames, measured the same
way (paced or back to back); 8 clients >= 150 frames/s (closed).
Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import requests
import skimage.data

ROOT = Path(__file__).absolute().parents[1]
sys.path.insert(0, str(ROOT))

import ar  # noqa: E402

PRODUCT = "aurelia-crown"
FRAME_WIDTH = 320
PAGE_RATE = 15  # frames a second, as the page sends at most


def make_frames(count: int = 40) -> list[bytes]:
    """320x240 JPEGs (as the page sends) of a face in a 640x480 webcam frame, swaying a little."""
    base = np.full((480, 640, 3), 30, np.uint8)
    base[:, 80:560] = cv2.resize(skimage.data.astronaut(), (480, 480), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(count):
        angle = 4 * np.sin(i / 7)
        shift = 10 * np.sin(i / 11)
        matrix = cv2.getRotationMatrix2D((320, 240), angle, 1.0)
        matrix[0, 2] += shift
        moved = cv2.warpAffine(base, matrix, (640, 480), borderMode=cv2.BORDER_REPLICATE)
        small = cv2.resize(moved, (FRAME_WIDTH, 240), interpolation=cv2.INTER_AREA)
        frames.append(ar.encode_image(small, "jpeg", quality=80))
    return frames


@dataclass
class ArTimings:
    """Milliseconds per frame for ar alone, in this process."""

    pose: list[float] = field(default_factory=list)  # header, decode, landmarks, placement, JSON
    full: list[float] = field(default_factory=list)  # the same plus composite and JPEG encode
    engine: list[float] = field(default_factory=list)  # the live engine's measure + place only
    mesh: list[float] = field(default_factory=list)  # MediaPipe's face mesh alone, back to back
    # The same in video mode (tracking from frame to frame, as the endpoint does per stream).
    mesh_video: list[float] = field(default_factory=list)
    # The same at the page's pace: one frame every 1/PAGE_RATE s, idle in between.
    mesh_paced: list[float] = field(default_factory=list)
    # The pose path step by step: the frame's size from its header (the app's check before
    # decoding), OpenCV decode (the app's), Pillow decode (the old path), measure (landmarks
    # and geometry), place, JSON.
    header: list[float] = field(default_factory=list)
    decode: list[float] = field(default_factory=list)
    decode_pillow: list[float] = field(default_factory=list)
    measure: list[float] = field(default_factory=list)
    place: list[float] = field(default_factory=list)
    json: list[float] = field(default_factory=list)


def ar_alone(frames: list[bytes], spec: ar.PieceSpec, overlay: ar.Overlay, repeats: int):
    from app.tryon.engines import LIVE_MAX_FACES

    engine = ar.create_engine("still", max_faces=LIVE_MAX_FACES)  # as the pose endpoint's
    timings = ArTimings()
    for frame in frames[:5]:  # warm up
        engine.place(ar.decode_frame(frame), spec)
    for _ in range(repeats):
        for frame in frames:
            start = time.perf_counter()
            ar.decode_image(frame)
            # The app's path from here: header check, decode, measure, place, JSON.
            start = _lap(timings.decode_pillow, start)
            ar.jpeg_size(frame)
            checked = _lap(timings.header, start)
            rgb = ar.decode_frame(frame)
            decoded = _lap(timings.decode, checked)
            faces = engine.measure(rgb)
            measured = _lap(timings.measure, decoded)
            placements = engine.place(faces, spec)
            placed = _lap(timings.place, measured)
            json.dumps(ar.faces_json(faces, placements))
            posed = _lap(timings.json, placed)
            ar.encode_image(ar.composite(rgb, overlay, placements), "jpeg", quality=90)
            done = time.perf_counter()
            timings.engine.append((placed - decoded) * 1000)
            timings.pose.append((posed - start) * 1000)
            timings.full.append((done - start) * 1000)
    engine.close()
    timings.mesh = raw_face_mesh(frames, repeats)
    timings.mesh_video = raw_face_mesh(frames, repeats, still=False)
    timings.mesh_paced = raw_face_mesh(frames, 1, pace=PAGE_RATE)
    return timings


def _lap(times: list[float], since: float) -> float:
    """Append the milliseconds since `since` to `times`; return now."""
    now = time.perf_counter()
    times.append((now - since) * 1000)
    return now


def raw_face_mesh(
    frames: list[bytes], repeats: int, pace: float = 0.0, still: bool = True
) -> list[float]:
    """MediaPipe's own face mesh on the same decoded frames, as the live engine configures it:
    back to back, or with pace, one frame every 1/pace s (idle in between, as the page); still
    mode (the floor of the target), or video mode (what a tracked stream's engine runs)."""
    # The floor the engine is measured against; the app itself reaches MediaPipe only via ar.
    from mediapipe.python.solutions import face_mesh

    decoded = [ar.decode_frame(frame) for frame in frames]
    times = []
    with face_mesh.FaceMesh(
        static_image_mode=still, max_num_faces=1, refine_landmarks=True
    ) as mesh:
        for rgb in decoded[:5]:
            mesh.process(rgb)
        for _ in range(repeats):
            for rgb in decoded:
                start = time.perf_counter()
                mesh.process(rgb)
                times.append((time.perf_counter() - start) * 1000)
                if pace:
                    time.sleep(max(0.0, 1 / pace - (time.perf_counter() - start)))
    return times


def seed(workdir: Path) -> tuple[dict[str, str], ar.PieceSpec, ar.Overlay]:
    """Create and seed a SQLite shop (artwork for the one piece used); return env and its spec."""
    env = {
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "DIADEM_MEDIA_ROOT": str(workdir / "media"),
        "DIADEM_MAIL_OUTBOX": str(workdir / "outbox"),
        "SECRET_KEY": os.urandom(16).hex(),
    }
    os.environ.update(env)
    from app import create_app
    from app.catalog.models import Metal, Overlay, Product
    from app.common.transactions import atomic
    from app.demo.seed import seed_demo
    from app.extensions import db

    app = create_app()
    with app.app_context():
        db.create_all()
        with atomic():
            seed_demo(media_root=env["DIADEM_MEDIA_ROOT"], draw_artwork=False)
        product = db.session.execute(db.select(Product).filter_by(slug=PRODUCT)).scalar_one()
        metal = db.session.execute(db.select(Metal).filter_by(code="yellow-gold")).scalar_one()
        spec = draw_overlay(Path(env["DIADEM_MEDIA_ROOT"]) / "products" / PRODUCT, product)
        db.session.add(
            Overlay(product=product, metal=metal, path=f"{PRODUCT}/overlay.png", spec=spec)
        )
        db.session.commit()
    overlay = ar.prepare_overlay(
        ar.load_overlay(Path(env["DIADEM_MEDIA_ROOT"]) / "products" / PRODUCT / "overlay.png")
    )
    return env, ar.PieceSpec.from_dict(spec), overlay


def draw_overlay(folder: Path, product) -> dict:
    from app.demo import artwork

    folder.mkdir(parents=True, exist_ok=True)
    design = artwork.PieceDesign(
        kind=product.kind, metal="yellow-gold", style="fleur", stone_colour="ruby",
        stone_count=12, width_mm=160, seed=7,
    )  # fmt: skip
    image, spec = artwork.render_overlay(design)
    (folder / "overlay.png").write_bytes(artwork.png_bytes(image))
    return spec


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with 2 sync workers on 127.0.0.1, serving the app from the factory."""

    def __init__(self, env: dict[str, str], app_spec: str, root: Path = ROOT) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-m", "gunicorn", "--workers", "2", "--bind",
            f"127.0.0.1:{self.port}", "--chdir", str(root), "--log-level", "warning",
            "--backlog", "256", app_spec,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=5).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def multipart_body(frame: bytes, boundary: str) -> bytes:
    """The body a browser's FormData makes for the page's pose request."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="frame"; filename="frame.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + frame
        + b"\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="product"\r\n\r\n'
        f"{PRODUCT}\r\n".encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="metal"\r\n\r\n'
        "yellow-gold\r\n".encode(),
        f"--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts)


@dataclass
class ClientLog:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    with_face: int = 0


def request_bodies(
    frames: list[bytes], body: str, streams: bool = True
) -> tuple[str, dict[str, str], list[bytes]]:
    """Path, headers and bodies of one client's pose requests: the page's raw JPEG, or the old
    form; with streams, the client names its camera stream as the page does (one random id)."""
    stream = f"stream={os.urandom(16).hex()}" if streams else ""
    if body == "raw":
        path = f"/tryon/api/pose?product={PRODUCT}&metal=yellow-gold&{stream}"
        return path.rstrip("&"), {"Content-Type": "image/jpeg"}, frames
    boundary = f"----diadem{os.urandom(8).hex()}"
    # Encoded up front, as the browser has its FormData ready: the bench measures the server.
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    path = f"/tryon/api/pose?{stream}".rstrip("?")
    return path, headers, [multipart_body(frame, boundary) for frame in frames]


def post(port: int, address: str, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    """One pose request on its own connection; return the status and the body."""
    # gunicorn's sync workers close each connection after one response, as here.
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=30, source_address=(address, 0)
    )
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    return response.status, answer


def empty_request_p50(port: int, pace: float, count: int = 45) -> float:
    """p50 ms of GET /healthz (a view that does nothing) from the same kind of client: the part
    of any endpoint's latency that is HTTP, gunicorn and Flask alone."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        connection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=30, source_address=("127.0.0.60", 0)
        )
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        connection.close()
        times.append((time.perf_counter() - start) * 1000)
        if pace:
            time.sleep(max(0.0, 1 / pace - (time.perf_counter() - start)))
    return statistics.median(times)


def interleaved(
    port: int, frames: list[bytes], seconds: float, body: str, streams: bool = True
) -> dict:
    """One client at the page's pace; after each answer, raw face mesh and the live engine run on
    the same frame in this process, so all three see the same load at the same moment. Each of
    the three waits out the page's gap (1/PAGE_RATE s) before it starts, so each meets the same
    idle-then-busy pattern the paced endpoint does (face mesh straight after another job runs
    warm, faster than it ever does for the page)."""
    from mediapipe.python.solutions import face_mesh

    from app.tryon.engines import LIVE_MAX_FACES

    path, headers, bodies = request_bodies(frames, body, streams)
    decoded = [ar.decode_frame(frame) for frame in frames]
    times: dict[str, list[float]] = {"endpoint": [], "mesh": [], "engine": []}
    engine = ar.create_engine("still", max_faces=LIVE_MAX_FACES)
    gap = 1 / PAGE_RATE

    def after_gap(since: float) -> float:
        time.sleep(max(0.0, gap - (time.perf_counter() - since)))
        return time.perf_counter()

    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True) as mesh:
        for rgb in decoded[:5]:
            mesh.process(rgb)
            engine.measure(rgb)
        stop = time.perf_counter() + seconds
        i = 0
        start = time.perf_counter()
        while time.perf_counter() < stop:
            n = i % len(frames)
            i += 1
            start = after_gap(start)
            status, _ = post(port, "127.0.0.50", path, bodies[n], headers)
            _lap(times["endpoint"], start)
            start = after_gap(start)
            mesh.process(decoded[n])
            _lap(times["mesh"], start)
            start = after_gap(start)
            engine.measure(decoded[n])
            _lap(times["engine"], start)
            if status != 200:
                raise RuntimeError(f"pose answered {status}")
    engine.close()
    return times


def print_interleaved(times: dict[str, list[float]]) -> None:
    endpoint, mesh, engine = (np.array(times[k]) for k in ("endpoint", "mesh", "engine"))
    print(
        f"# interleaved, each after the page's gap, {len(mesh)} frames, one client: endpoint "
        f"p50 {np.median(endpoint):.2f} "
        f"ms, raw face mesh p50 {np.median(mesh):.2f} ms, live engine measure p50 "
        f"{np.median(engine):.2f} ms; endpoint / mesh {np.median(endpoint) / np.median(mesh):.2f}"
        f" x (median of per-frame ratios {np.median(endpoint / mesh):.2f} x), engine / mesh "
        f"{np.median(engine) / np.median(mesh):.2f} x (per-frame {np.median(engine / mesh):.2f} x)"
    )


def run_client(
    port: int,
    address: str,
    frames: list[bytes],
    stop: float,
    pace: float,
    log,
    body: str,
    streams: bool = True,
):
    """Post frames one at a time from `address` (its own client to the rate limiter)."""
    path, headers, bodies = request_bodies(frames, body, streams)
    interval = 1.0 / pace if pace else 0.0
    i = 0
    last = -1e9
    while True:
        now = time.perf_counter()
        if interval and now - last < interval:
            time.sleep(interval - (now - last))
        if time.perf_counter() >= stop:
            break
        payload = bodies[i % len(bodies)]
        i += 1
        last = time.perf_counter()
        status, answer = post(port, address, path, payload, headers)
        elapsed = (time.perf_counter() - last) * 1000
        log.statuses[status] = log.statuses.get(status, 0) + 1
        if status == 200:
            log.latencies.append(elapsed)
            log.with_face += bool(json.loads(answer)["faces"])


def load(
    port: int,
    frames: list[bytes],
    clients: int,
    seconds: float,
    pace: float,
    first: int = 10,
    body: str = "raw",
    streams: bool = True,
) -> dict:
    logs = [ClientLog() for _ in range(clients)]
    start = time.perf_counter()
    stop = start + seconds
    threads = [
        threading.Thread(
            target=run_client,
            args=(port, f"127.0.0.{first + n}", frames, stop, pace, logs[n], body, streams),
        )
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.perf_counter() - start
    latencies = sorted(x for log in logs for x in log.latencies)
    statuses: dict[int, int] = {}
    for log in logs:
        for code, count in log.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    return {
        "clients": clients,
        "frames_per_s": len(latencies) / duration,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "ok": len(latencies),
        "with_face": sum(log.with_face for log in logs),
        "statuses": statuses,
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def warm_up(port: int, frames: list[bytes], body: str, streams: bool) -> None:
    # Enough parallel requests that both workers build their engine before timing starts, from
    # other addresses than the measured clients so no rate-limit window carries over.
    load(port, frames, clients=4, seconds=3, pace=PAGE_RATE, first=100, body=body, streams=streams)
    from app.tryon.engines import STREAM_IDLE_SECONDS

    # Their streams hold the workers' tracking engines until they have been quiet this long.
    time.sleep(STREAM_IDLE_SECONDS + 0.5)


def print_breakdown(before: ArTimings, after: ArTimings, mesh_p50: float) -> None:
    """The pose path's steps in this process (p50 ms and as a share of raw face mesh)."""

    def p50(name: str) -> float:
        return statistics.median(getattr(before, name) + getattr(after, name))

    steps = [
        ("header check", "header"),
        ("decode (OpenCV, as the app)", "decode"),
        ("decode (Pillow, the old path)", "decode_pillow"),
        ("measure (landmarks + geometry)", "measure"),
        ("place", "place"),
        ("JSON", "json"),
    ]
    parts = ", ".join(f"{label} {p50(name):.2f} ms" for label, name in steps)
    print(f"# breakdown p50: {parts}; measure - mesh {p50('measure') - mesh_p50:+.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per client count")
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--modes", default="paced,closed")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument(
        "--app-root",
        type=Path,
        default=ROOT,
        help="serve the app from this checkout (e.g. an export of an older commit)",
    )
    parser.add_argument(
        "--interleaved", type=float, default=0.0, help="seconds of the interleaved comparison"
    )
    parser.add_argument(
        "--body",
        choices=("raw", "multipart"),
        default="raw",
        help="the frame as an image/jpeg body (the page) or a multipart form (older clients)",
    )
    parser.add_argument(
        "--no-streams",
        dest="streams",
        action="store_false",
        help="clients name no camera stream (an older page): every frame in still mode",
    )
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]
    modes = args.modes.split(",")

    frames = make_frames()
    with tempfile.TemporaryDirectory(prefix="diadem-bench-") as tmp:
        env, spec, overlay = seed(Path(tmp))
        if args.redis_url:
            env["REDIS_URL"] = args.redis_url
        print(
            f"# try-on pose endpoint: gunicorn 2 sync workers, {platform.processor() or 'cpu'}, "
            f"{os.cpu_count()} cores, python {platform.python_version()}, "
            f"limiter storage {'redis' if args.redis_url else 'memory (per worker)'}, "
            f"load average {os.getloadavg()[0]:.2f}, {args.body} request bodies, "
            f"{'each client names its stream (tracked)' if args.streams else 'no stream ids'}"
        )
        print(f"# frames: {len(frames)} JPEGs {FRAME_WIDTH}x240, "
              f"{statistics.mean(map(len, frames)) / 1024:.1f} KB on average")  # fmt: skip
        before = ar_alone(frames, spec, overlay, repeats=3)
        results = []
        paired = None
        empty: dict[str, float] = {}
        for mode in modes:
            if mode == "paced":
                app_spec, pace = "wsgi:app", PAGE_RATE
            else:
                app_spec = "app:create_app({'TRYON_POSE_RATE_LIMIT': '100000 per second'})"
                pace = 0
            server = Server(env, app_spec, args.app_root)
            try:
                warm_up(server.port, frames, args.body, args.streams)
                empty[mode] = empty_request_p50(server.port, pace)
                if mode == "paced" and args.interleaved:
                    paired = interleaved(
                        server.port, frames, args.interleaved, args.body, args.streams
                    )
                for clients in levels:
                    result = load(
                        server.port, frames, clients, args.seconds, pace, body=args.body,
                        streams=args.streams,
                    )  # fmt: skip
                    result["mode"] = mode
                    results.append(result)
            finally:
                server.stop()
        after = ar_alone(frames, spec, overlay, repeats=3)

    pose_p50 = statistics.median(before.pose + after.pose)
    full_p50 = statistics.median(before.full + after.full)
    mesh_p50 = statistics.median(before.mesh + after.mesh)
    paced_mesh_p50 = statistics.median(before.mesh_paced + after.mesh_paced)
    floors = {"closed": mesh_p50, "paced": paced_mesh_p50}
    engine_p50 = statistics.median(before.engine + after.engine)
    print(
        f"# same frames, this process: MediaPipe face mesh alone p50 {mesh_p50:.2f} ms (before "
        f"the load {statistics.median(before.mesh):.2f}, after {statistics.median(after.mesh):.2f}"
        f"); live engine measure + place p50 {engine_p50:.2f} ms ({engine_p50 / mesh_p50:.2f} x "
        f"mesh); ar end-to-end with decode and JSON p50 {pose_p50:.2f} ms; with composite and "
        f"encode {full_p50:.2f} ms"
    )
    print(
        f"# raw face mesh paced at {PAGE_RATE} frames/s (idle between frames, as the page): p50 "
        f"{paced_mesh_p50:.2f} ms (before the load {statistics.median(before.mesh_paced):.2f}, "
        f"after {statistics.median(after.mesh_paced):.2f}), {paced_mesh_p50 / mesh_p50:.2f} x "
        "back to back; p50/mesh below is against the floor measured the same way as the row"
    )
    video_p50 = statistics.median(before.mesh_video + after.mesh_video)
    print(
        f"# raw face mesh in video mode (tracking, as a named stream's engine), back to back: "
        f"p50 {video_p50:.2f} ms, {video_p50 / mesh_p50:.2f} x still mode; the target's floor is "
        "still mode, the issue's measure; endpoint / video-mode mesh is printed below too"
    )
    print_breakdown(before, after, mesh_p50)
    if paired is not None:
        print_interleaved(paired)
    for mode, p50 in empty.items():
        print(
            f"# empty request ({mode}, GET /healthz, same server and client): p50 {p50:.2f} ms; "
            f"the HTTP, gunicorn and Flask floor under any endpoint"
        )
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")
    print(f"{'mode':<7} {'clients':>7} {'frames/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'p50/mesh':>8} {'/b2b':>6} {'p50/pose':>8} {'faces':>6}  statuses")  # fmt: skip
    for r in results:
        floor = floors.get(r["mode"], mesh_p50)
        print(
            f"{r['mode']:<7} {r['clients']:>7} {r['frames_per_s']:>9.1f} {r['p50']:>8.2f} "
            f"{r['p99']:>8.2f} {r['p50'] / floor:>8.2f} {r['p50'] / mesh_p50:>6.2f} "
            f"{r['p50'] / pose_p50:>8.2f} {r['with_face'] / max(r['ok'], 1):>6.0%}  "
            f"{dict(sorted(r['statuses'].items()))}"
        )
    for r in results:
        if r["clients"] == 1:
            floor = floors.get(r["mode"], mesh_p50)
            ratio = r["p50"] / floor
            how = "paced the same" if r["mode"] == "paced" else "back to back"
            print(
                f"# target ({r['mode']}) one-client endpoint p50 <= 1.3 x raw face mesh "
                f"({how}): {r['p50']:.2f} / {floor:.2f} ms = {ratio:.2f} x "
                f"({'met' if ratio <= 1.3 else 'MISSED'}); against back to back "
                f"{r['p50'] / mesh_p50:.2f} x; against video-mode mesh {r['p50'] / video_p50:.2f} x"
            )
        if r["clients"] == 8 and r["mode"] == "closed":
            fps = r["frames_per_s"]
            verdict = "met" if fps >= 150 else "MISSED"
            print(f"# target (closed) 8 clients >= 150 frames/s: {fps:.1f} ({verdict})")


if __name__ == "__main__":
    main()
