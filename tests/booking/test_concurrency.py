"""Simultaneous bookings on PostgreSQL: one slot, one winner; buffers hold; reminders go once.

Each worker is a thread with its own app context, so its own session and connection, released
together by a barrier so the requests really overlap (tests.helpers.race).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.booking import services
from app.booking.cli import send_reminders
from app.booking.models import Consultation
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.scheduling import Slot, to_local
from app.extensions import db
from tests.booking.builders import NOW, TUESDAY_10, make_request
from tests.conftest import POSTGRES_URL
from tests.helpers import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs DIADEM_TEST_DATABASE_URL (PostgreSQL)"),
]

WORKERS = 8


def run_together(app, work, count=WORKERS):
    """Run work(i) in count threads, each in its own app context; results or exceptions by index.

    (test_hold_concurrency and test_artisan_concurrency call this.)
    """
    return race(count, work, app=app, catch=Exception)


def test_simultaneous_bookings_of_one_slot_have_one_winner(pg_studio):
    def attempt(i):
        request = make_request(TUESDAY_10, email=f"guest{i}@example.com", name=f"Guest {i}")
        with atomic():
            return services.book_consultation(request=request, user_id=None, now=NOW).id

    results = race(WORKERS, attempt, app=pg_studio, catch=services.SlotTaken)
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if not isinstance(r, int)]
    assert len(winners) == 1, results
    assert all(isinstance(r, services.SlotTaken) for r in losers), results
    assert {str(r) for r in losers} == {"That slot was just taken — please pick another."}
    with pg_studio.app_context():
        rows = db.session.execute(db.select(Consultation)).scalars().all()
        assert [c.id for c in rows] == winners
    assert len(read_outbox(pg_studio.config["MAIL_OUTBOX_DIR"])) == 1


def test_simultaneous_overlapping_starts_respect_the_buffer(pg_studio, monkeypatch):
    # Different start times 10 minutes apart cannot clash on the unique index; only the
    # calendar-day lock plus the buffer check can stop them. Pretend each is on the grid (as
    # happens while staff change the length) and race them.
    def any_start(rules, starts_at, now):
        return Slot(starts_at, starts_at + rules.length, to_local(starts_at, rules.zone))

    monkeypatch.setattr("app.booking.services.availability._slot_on_grid", any_start)

    def attempt(i):
        starts_at = TUESDAY_10 + timedelta(minutes=10 * i)
        request = make_request(starts_at, email=f"guest{i}@example.com")
        with atomic():
            return services.book_consultation(request=request, user_id=None, now=NOW).id

    results = race(WORKERS, attempt, app=pg_studio, catch=services.SlotTaken)
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1, results
    assert all(isinstance(r, services.SlotTaken) for r in results if r not in winners)
    with pg_studio.app_context():
        [row] = db.session.execute(db.select(Consultation)).scalars().all()
        assert row.id == winners[0]


def test_simultaneous_reschedule_and_booking_of_the_same_slot(pg_studio):
    with pg_studio.app_context(), atomic():
        mover = services.book_consultation(
            request=make_request(datetime(2027, 3, 3, 10, 0)), user_id=None, now=NOW
        ).id
        services.confirm_booking(consultation_id=mover, now=NOW)

    def attempt(i):
        with atomic():
            if i == 0:
                return services.reschedule_consultation(
                    consultation_id=mover, starts_at=TUESDAY_10, now=NOW
                ).id
            request = make_request(TUESDAY_10, email=f"guest{i}@example.com")
            return services.book_consultation(request=request, user_id=None, now=NOW).id

    results = race(4, attempt, app=pg_studio, catch=Exception)
    assert sum(isinstance(r, int) for r in results) == 1, results
    with pg_studio.app_context():
        active = db.session.execute(
            db.select(Consultation).where(Consultation.starts_at == TUESDAY_10)
        ).scalars()
        assert len(list(active)) == 1


def test_concurrent_reminder_runs_send_each_reminder_once(pg_studio):
    with pg_studio.app_context(), atomic():
        for i, (hour, minute) in enumerate(((10, 0), (11, 15), (12, 30))):
            start = datetime(2027, 3, 2, hour, minute)
            held = services.book_consultation(
                request=make_request(start, email=f"r{i}@example.com"), user_id=None, now=NOW
            )
            services.confirm_booking(consultation_id=held.id, now=NOW)
    before = len(read_outbox(pg_studio.config["MAIL_OUTBOX_DIR"]))
    evening = datetime(2027, 3, 1, 18, 0)
    results = race(4, lambda i: send_reminders(now=evening), app=pg_studio)
    assert sum(results) == 3, results
    mails = read_outbox(pg_studio.config["MAIL_OUTBOX_DIR"])[before:]
    assert sorted(m["To"] for m in mails) == ["r0@example.com", "r1@example.com", "r2@example.com"]


def test_two_staff_drafting_at_once_make_one_order(pg_studio):
    from app.checkout.models import Order
    from tests.factories import make_product

    with pg_studio.app_context():
        product = make_product("race-tiara", kind="tiara", tier="custom", metals=("silver",))
        with atomic():
            consultation_id = services.book_consultation(
                request=make_request(TUESDAY_10, product_id=product.id), user_id=None, now=NOW
            ).id
            services.confirm_booking(consultation_id=consultation_id, now=NOW)

    def draft(i):
        with atomic():
            return services.create_order_draft(consultation_id=consultation_id, now=NOW).id

    results = race(4, draft, app=pg_studio, catch=Exception)
    assert sum(isinstance(r, int) for r in results) == 1, results
    with pg_studio.app_context():
        assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 1
