"""The retry for catalogue photos' smaller sizes: a scheduled job that makes what a lost
``make_variants`` job (a worker died, Redis lost it) left undone.

The upload queues ``make_variants`` after its commit; this sweep must not race it while it
waits in the queue or runs. ``ProductImage`` has no upload time, so the sweep remembers when it
first saw each picture lacking sizes (a Redis hash, beside the queue) and makes them only once
that is ``GRACE`` ago. Without Redis there is no queue: the job ran in the uploading process at
its commit, so whatever is still missing is a failure and is made at once. ``make_variants``
is idempotent, so a race lost anyway costs only the work twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.catalog.artwork_uploads import make_variants, missing_widths
from app.catalog.models import ProductImage
from app.common import jobs
from app.common.scheduling import ScheduledJob
from app.common.transactions import atomic
from app.extensions import db

log = logging.getLogger(__name__)

GRACE = timedelta(minutes=10)
BATCH = 25  # pictures a run makes sizes for; the rest wait for the next run
FIRST_SEEN_KEY = "diadem:variant-sweep:first-seen"


def images_lacking_variants() -> list[int]:
    """Ids of the pictures stored by an upload that still lack some of their sizes."""
    # Only uploaded pictures have a main rendition to make sizes from; missing_widths knows
    # them by their key, so the filter is in Python (a shop has hundreds of pictures, not more).
    rows = db.session.execute(
        db.select(ProductImage).where(ProductImage.width.is_not(None)).order_by(ProductImage.id)
    ).scalars()
    return [image.id for image in rows if missing_widths(image)]


def old_enough(image_ids: Sequence[int], *, now: datetime, key: str = FIRST_SEEN_KEY) -> list[int]:
    """Those of ``image_ids`` first seen lacking sizes at least ``GRACE`` before ``now``.

    The memory forgets pictures no longer lacking (done or deleted), so it stays small.
    """
    redis = jobs.redis_connection()
    if redis is None:
        return list(image_ids)  # no queue: no job can still be on its way
    wanted = {str(i) for i in image_ids}
    forgotten = [f for f in (f.decode() for f in redis.hkeys(key)) if f not in wanted]
    pipe = redis.pipeline()
    if forgotten:
        pipe.hdel(key, *forgotten)
    for field in wanted:
        pipe.hsetnx(key, field, now.isoformat())
    pipe.execute()
    if not image_ids:
        return []
    seen = redis.hmget(key, [str(i) for i in image_ids])
    cutoff = now - GRACE
    return [
        image_id
        for image_id, first in zip(image_ids, seen, strict=True)
        if first is not None and datetime.fromisoformat(first.decode()) <= cutoff
    ]


def sweep_missing_variants(*, now: datetime, key: str = FIRST_SEEN_KEY) -> str:
    """The scheduled job: make the missing sizes of pictures whose own job was lost."""
    with atomic():
        lacking = images_lacking_variants()
    due = old_enough(lacking, now=now, key=key)[:BATCH]
    made = failed = 0
    for image_id in due:
        try:
            made += make_variants(image_id=image_id)
        except Exception:  # one damaged picture must not stop the others; retried next run
            log.exception("Could not make the sizes of product image %s", image_id)
            failed += 1
        finally:
            db.session.remove()
    waiting = len(lacking) - len(due)
    return (
        f"Made {made} size(s) for {len(due) - failed} picture(s); {failed} failed; "
        f"{waiting} still waiting."
    )


variant_sweep_job = ScheduledJob(
    name="sweep-photo-sizes", every_seconds=5 * 60, run=sweep_missing_variants
)
