"""Simultaneous bookings on PostgreSQL, per artisan: one artisan's slot is booked once, two
artisans' same time are both bookable, and "any artisan" fills each artisan once."""

from __future__ import annotations

import pytest

from app.booking import services
from app.booking.models import Consultation
from app.common.transactions import atomic
from app.extensions import db
from tests.booking.artisans import make_artisan
from tests.booking.builders import NOW, TUESDAY_10, make_request
from tests.booking.test_concurrency import run_together
from tests.conftest import POSTGRES_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs DIADEM_TEST_DATABASE_URL (PostgreSQL)"),
]


@pytest.fixture
def two_artisans(pg_studio):
    with pg_studio.app_context():
        return make_artisan("Mira"), make_artisan("Noor")


def booker(artisan_of):
    def attempt(i):
        request = make_request(TUESDAY_10, email=f"guest{i}@example.com", artisan_id=artisan_of(i))
        with atomic():
            return services.book_consultation(request=request, user_id=None, now=NOW).id

    return attempt


def active_artisans(app) -> list[int | None]:
    with app.app_context():
        return sorted(
            db.session.execute(
                db.select(Consultation.artisan_id).where(Consultation.starts_at == TUESDAY_10)
            ).scalars()
        )


def test_one_artisans_slot_is_booked_once(pg_studio, two_artisans):
    mira, _ = two_artisans
    results = run_together(pg_studio, booker(lambda i: mira))
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert all(isinstance(r, services.SlotTaken) for r in results if not isinstance(r, int))
    assert active_artisans(pg_studio) == [mira]


def test_two_artisans_same_time_are_both_bookable(pg_studio, two_artisans):
    mira, noor = two_artisans
    results = run_together(pg_studio, booker(lambda i: (mira, noor)[i % 2]))
    assert sum(isinstance(r, int) for r in results) == 2, results
    assert active_artisans(pg_studio) == [mira, noor]


def test_any_artisan_fills_each_artisan_once(pg_studio, two_artisans):
    mira, noor = two_artisans
    results = run_together(pg_studio, booker(lambda i: None))
    assert sum(isinstance(r, int) for r in results) == 2, results
    assert all(isinstance(r, services.SlotTaken) for r in results if not isinstance(r, int))
    assert active_artisans(pg_studio) == [mira, noor]
