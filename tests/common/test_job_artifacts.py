"""Invoice PDFs and picture sizes through RQ: queued after the commit, made by a real worker
(Redis database 7), and the same files as in-process mode makes."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from PIL import Image
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.catalog import artwork_uploads
from app.catalog.models import ProductImage
from app.checkout import invoice_files, services
from app.checkout.invoice_files import InvoiceFile
from app.common import jobs
from app.common.storage import media_storage, uploads_storage
from app.common.transactions import atomic
from app.extensions import db
from tests.checkout.support import item, make_shop, place
from tests.factories import make_product

REDIS_TEST_URL = "redis://127.0.0.1:6379/7"  # this module's own database


@pytest.fixture
def redis_app(app: Flask) -> Iterator[Flask]:
    connection = Redis.from_url(REDIS_TEST_URL)
    try:
        connection.ping()
    except RedisConnectionError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    connection.flushdb()  # database 7 only
    app.config["REDIS_URL"] = REDIS_TEST_URL
    yield app
    connection.flushdb()
    connection.close()


def _work(app: Flask) -> None:
    queued = jobs.queue(app)
    assert queued is not None and queued.count >= 1
    # No app context here: the worker makes its own for each job.
    worker = jobs.make_worker(app, connection=Redis.from_url(REDIS_TEST_URL))
    assert worker.work(burst=True)
    assert queued.count == 0 and queued.failed_job_registry.count == 0


def _in_process(app: Flask) -> None:
    app.config["REDIS_URL"] = None
    app.extensions.pop("diadem.redis", None)


def test_a_worker_issues_the_invoice_and_in_process_mode_issues_the_same(redis_app):
    with redis_app.app_context():
        order_id = place(item(make_shop().crown_id)).id
        with atomic():
            services.mark_paid(order_id=order_id, reference="BACS")
        assert db.session.execute(db.select(InvoiceFile)).first() is None  # queued, not made
    _work(redis_app)
    with redis_app.app_context():
        row = invoice_files.stored_invoice(order_id)
        by_worker = (row.storage_key, uploads_storage().read(row.storage_key))
        # Forget it and issue it again without Redis: the same key, byte for byte.
        uploads_storage().delete(row.storage_key)
        with atomic():
            db.session.delete(row)
    _in_process(redis_app)
    with redis_app.app_context():
        key = invoice_files.issue_invoice(order_id=order_id)
        assert (key, uploads_storage().read(key)) == by_worker


def _photo() -> bytes:
    picture = Image.linear_gradient("L").resize((1000, 700)).convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _sizes(image_id: int) -> list[tuple[int, bytes]]:
    image = db.session.get(ProductImage, image_id)
    return [(v["width"], media_storage().read(v["path"])) for v in image.variants]


def test_a_worker_makes_the_picture_sizes_and_in_process_mode_makes_the_same(redis_app):
    with redis_app.app_context():
        product_id = make_product("queued-crown").id
        with atomic():
            queued_id = artwork_uploads.add_photo(product_id=product_id, data=_photo(), alt="A").id
        assert [width for width, _ in _sizes(queued_id)] == [1000]  # shown at once, full size
    _work(redis_app)
    _in_process(redis_app)
    with redis_app.app_context():
        with atomic():
            local_id = artwork_uploads.add_photo(product_id=product_id, data=_photo(), alt="B").id
        by_worker, in_process = _sizes(queued_id), _sizes(local_id)
    assert [width for width, _ in by_worker] == [240, 480, 960, 1000]
    assert by_worker == in_process
