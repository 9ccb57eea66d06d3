"""Real-browser fixtures: the app served on 127.0.0.1 in a thread, driven by Debian's Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


# Browser walks whose every query is already run on PostgreSQL by the service and view tests:
# what they add is the browser's side (drawing, dragging, zones, dialogs), the same on either
# database, so they run once, on the SQLite pass. Walks that move money or stock run on both.
ONCE_ON_SQLITE = {
    "test_catalog.py": "filters and prices in the browser; the catalogue queries have PG tests",
    "test_confirmations.py": "a confirmation dialog in the browser",
    "test_gallery.py": "the gallery's pictures follow the metal in the browser",
    "test_overlay_calibration.py": "dragging the band preview in the browser",
    "test_slot_zones.py": "slot times in the browser's time zone",
    "test_tryon.py": "the try-on draws in the browser from a fake camera",
    "test_tryon_lag.py": "the overlay's lag behind a moving head, measured in the browser",
}


def pytest_collection_modifyitems(items):
    on_postgres = bool(os.environ.get("DIADEM_TEST_DATABASE_URL"))
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            reason = ONCE_ON_SQLITE.get(Path(str(item.fspath)).name)
            if on_postgres and reason:
                item.add_marker(pytest.mark.skip(reason=f"run once, on SQLite: {reason}"))
            # A browser drops connections it no longer needs (a picture replaced by another
            # size, a page left mid-load); Werkzeug's development server then leaves that
            # response's file to the garbage collector. Gunicorn closes it; not the app's doing.
            item.add_marker(pytest.mark.filterwarnings("ignore::ResourceWarning"))


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve the test app on a free loopback port; yield its base URL."""
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def playwright_instance(tmp_path_factory) -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (installs Debian's chromium)")
    os.environ["TMPDIR"] = str(tmp_path_factory.mktemp("chromium-tmp"))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance) -> Iterator[object]:
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _artwork_folder() -> Path:
    """The media folder for this drawing code: its key is a digest of app/demo's sources."""
    import hashlib

    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for source in sorted((root / "app" / "demo").rglob("*.py")):
        digest.update(source.relative_to(root).as_posix().encode())
        digest.update(source.read_bytes())
    cache = Path(os.environ.get("DIADEM_TEST_MEDIA_CACHE") or root / "artifacts" / "media-cache")
    return cache / digest.hexdigest()[:16]


_DRAWN = ".drawn"  # written once every picture of the demo atelier is in the folder
_drawing: subprocess.Popen | None = None


def draw_artwork(folder: str) -> None:
    """Draw the demo atelier's pictures into ``folder`` (run in a process of its own)."""
    import tempfile

    from app import create_app
    from app.common.transactions import atomic
    from app.demo.seed import seed_demo
    from app.extensions import db
    from tests.conftest import _settings

    with tempfile.TemporaryDirectory() as scratch:
        settings = _settings(f"sqlite:///{scratch}/art.sqlite3", Path(scratch))
        app = create_app({**settings, "MEDIA_ROOT": folder})
        with app.app_context():
            db.create_all()
            with atomic():
                seed_demo(media_root=folder, draw_artwork=True)
            db.session.remove()
            db.engine.dispose()
    (Path(folder) / _DRAWN).touch()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start drawing the demo artwork now, beside the tests, if browser tests will need it.

    Drawing every demo piece takes about two minutes of one core, and the suite runs on the
    other tests' core only: started here, it is done before the browser tests (late in the run)
    ask for it, instead of holding up the first of them. The pictures are the same ones.
    """
    global _drawing
    if not any("artwork_dir" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    folder = _artwork_folder()
    if (folder / _DRAWN).exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[2]
    _drawing = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from tests.e2e.conftest import draw_artwork; draw_artwork(sys.argv[1])",
            str(folder),
        ],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    if _drawing is not None and _drawing.poll() is None:
        _drawing.terminate()  # a run stopped early; a later run finishes the folder
        _drawing.wait(timeout=10)


@pytest.fixture(scope="session")
def artwork_dir() -> Path:
    """A media folder keyed by the drawing code, so the artwork is drawn once per change."""
    folder = _artwork_folder()
    if _drawing is not None:
        _drawing.wait()  # failed or not, seeded_with_art draws whatever is still missing
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def seeded_with_art(app, artwork_dir: Path) -> object:
    """The demo atelier with its drawn artwork."""
    from app.common.transactions import atomic
    from app.demo.seed import seed_demo

    app.config["MEDIA_ROOT"] = str(artwork_dir)
    with app.app_context(), atomic():
        seed_demo(media_root=str(artwork_dir), draw_artwork=True)
    return app
