"""Two gunicorn app servers, each with its own instance folder, in front of one PostgreSQL, one
Redis and one S3 API (moto's server): the production shape, on loopback.

Runs in the PostgreSQL pass only (it needs a real shared database). The servers are started once
per module; every test talks to them over HTTP like a browser would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import POSTGRES_URL
from tests.topology.servers import (
    BIN,
    REDIS_URL,
    ROOT,
    Topology,
    database_url,
    flush_redis,
    free_port,
    prepare,
    recreate_database,
    start_server,
    stop_server,
)


@pytest.fixture(scope="module")
def topology(s3_endpoint: str, tmp_path_factory) -> Iterator[Topology]:
    """Servers A and B (two gunicorn workers each), sharing PostgreSQL, Redis and the bucket."""
    import boto3

    from tests.s3 import FAKE_CREDENTIALS

    recreate_database()
    flush_redis()
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
        "DATABASE_URL": database_url(POSTGRES_URL),
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
    prepare(env, instances["a"])
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "provenance-keygen", "--path", str(key_file)],
        cwd=ROOT,
        env={**env, "DIADEM_INSTANCE_PATH": str(instances["a"])},
        check=True,
        capture_output=True,
    )
    server_a, base_a = start_server("a", env, instances["a"], folder / "a.log")
    server_b, base_b = start_server("b", env, instances["b"], folder / "b.log")
    try:
        yield Topology(env=env, a=base_a, b=base_b, instances=instances)
    finally:
        stop_server(server_a)
        stop_server(server_b)
        shutil.rmtree(folder, ignore_errors=True)
