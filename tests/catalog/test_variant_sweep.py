"""The scheduled retry of catalogue photos' smaller sizes: a picture whose make_variants job was
lost gets its sizes from the sweep, once, and not while its own job may still be queued."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.catalog import artwork_uploads, variant_sweep
from app.catalog.artwork_uploads import add_photo
from app.catalog.models import ProductImage
from app.common import scheduling
from app.common.storage import media_storage
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from tests.catalog.test_artwork_uploads import phone_jpeg
from tests.factories import make_product

REDIS_URL = "redis://127.0.0.1:6379/0"  # only this test's own key is touched


@pytest.fixture
def lost_job_pictures(app_ctx, monkeypatch) -> list[int]:
    """Two uploaded pictures whose sizes job never ran (the worker died with it)."""
    product_id = make_product("sweep-crown", metals=("yellow-gold",)).id
    with monkeypatch.context() as lost:
        lost.setattr(artwork_uploads.jobs, "run_soon", lambda fn, **kwargs: None)
        ids = []
        for alt in ("Front", "Side"):
            with atomic():
                ids.append(add_photo(product_id=product_id, data=phone_jpeg(), alt=alt).id)
    return ids


def _widths(image_id: int) -> list[int]:
    image = db.session.get(ProductImage, image_id, populate_existing=True)
    return [v["width"] for v in image.variants]


def test_the_sweep_makes_the_sizes_a_lost_job_left_undone_once(lost_job_pictures):
    assert [_widths(i) for i in lost_job_pictures] == [[1200], [1200]]
    [job] = [j for j in scheduling.registered_jobs() if j.name == "sweep-photo-sizes"]
    # Without Redis there is no queue: the upload's own job ran (or failed) at its commit.
    run = scheduling.run_job(job, now=utcnow())
    assert run.summary == "Made 6 size(s) for 2 picture(s); 0 failed; 0 still waiting."
    assert [_widths(i) for i in lost_job_pictures] == [[240, 480, 960, 1200]] * 2
    storage = media_storage()
    image = db.session.get(ProductImage, lost_job_pictures[0])
    assert all(storage.exists(v["path"]) for v in image.variants)
    again = scheduling.run_job(job, now=utcnow())
    assert again.summary == "Made 0 size(s) for 0 picture(s); 0 failed; 0 still waiting."


def test_one_broken_picture_does_not_stop_the_others(lost_job_pictures):
    broken, fine = lost_job_pictures
    media_storage().delete(db.session.get(ProductImage, broken).path)  # its main file is gone
    summary = variant_sweep.sweep_missing_variants(now=utcnow())
    assert summary == "Made 3 size(s) for 1 picture(s); 1 failed; 0 still waiting."
    assert (_widths(broken), _widths(fine)) == ([1200], [240, 480, 960, 1200])


def test_with_a_queue_the_sweep_leaves_a_picture_to_its_own_job_for_a_while(app, lost_job_pictures):
    redis = Redis.from_url(REDIS_URL)
    try:
        redis.ping()
    except RedisConnectionError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    key = f"test:variant-sweep:{secrets.token_hex(6)}"
    app.config["REDIS_URL"] = REDIS_URL
    app.extensions.pop("diadem.redis", None)
    try:
        first = utcnow()
        summary = variant_sweep.sweep_missing_variants(now=first, key=key)
        assert summary == "Made 0 size(s) for 0 picture(s); 0 failed; 2 still waiting."
        assert [_widths(i) for i in lost_job_pictures] == [[1200], [1200]]
        # Seen lacking again a little later: still the first sighting that counts.
        variant_sweep.sweep_missing_variants(now=first + timedelta(minutes=3), key=key)
        later = first + variant_sweep.GRACE
        summary = variant_sweep.sweep_missing_variants(now=later, key=key)
        assert summary == "Made 6 size(s) for 2 picture(s); 0 failed; 0 still waiting."
        assert [_widths(i) for i in lost_job_pictures] == [[240, 480, 960, 1200]] * 2
        variant_sweep.sweep_missing_variants(now=later, key=key)
        assert redis.hlen(key) == 0  # done pictures are forgotten
    finally:
        redis.delete(key)
        redis.close()
        app.extensions.pop("diadem.redis", None)
        app.config["REDIS_URL"] = None
