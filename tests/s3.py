"""A fake S3 for tests: moto's server on loopback, one per test session, one bucket per test.

Fixtures (made available to every test by tests/conftest.py; the server starts only when a test
asks for one of them):

- ``s3_endpoint`` (session): ``http://127.0.0.1:<port>`` of a running ``moto_server``;
- ``s3_settings`` (function): app config for ``DIADEM_STORAGE=s3`` on a fresh, empty bucket of
  that server, with fake AWS_* credentials in the environment; pass it to ``create_app`` or
  ``app.config.update()`` it before the app first touches its storage.

Anything else that needs the same bucket (a second app, a gunicorn started by a test) gets the
same settings, as environment variables with :func:`as_environment`: the server keeps its state
for the whole session. Outside pytest, :func:`running_moto_server` is a plain context manager.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

STARTUP_SECONDS = 30.0
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Never reach for the machine's own AWS files or an instance metadata service.
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def as_environment(settings: dict[str, str]) -> dict[str, str]:
    """The ``s3_settings`` as the variables an app server started as a process reads."""
    return {**FAKE_CREDENTIALS, **{f"DIADEM_{name}": value for name, value in settings.items()}}


def moto_server_command() -> str | None:
    """The moto_server beside this Python (the project's venv), else one on PATH."""
    beside = Path(sys.executable).with_name("moto_server")
    return str(beside) if beside.exists() else shutil.which("moto_server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/moto-api/", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running_moto_server(command: str) -> Iterator[str]:
    """Start ``moto_server`` on a free loopback port, wait until it answers, yield its URL."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(endpoint):
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto_server did not answer on {endpoint}")
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    command = moto_server_command()
    if command is None:
        pytest.skip("moto_server is not installed (pip install -e '.[test]')")
    with running_moto_server(command) as endpoint:
        yield endpoint


@pytest.fixture
def s3_settings(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    import boto3

    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"diadem-test-{uuid.uuid4().hex[:12]}"
    client = boto3.session.Session().client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    client.close()
    return {
        "STORAGE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": "us-east-1",
        "S3_PREFIX": "diadem",
    }
