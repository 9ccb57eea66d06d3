"""Concurrent buyers racing for the last numbered pieces never oversell an edition.

On PostgreSQL 24 buyers (threads, each with its own app context, session and connection)
start at the same instant; on SQLite the compare-and-set fallback is raced by 8.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from app import create_app
from app.catalog.models import EditionRun, Piece
from app.checkout import services
from app.checkout.models import OrderLine
from app.common.transactions import atomic
from app.extensions import db
from tests.checkout.conftest import POSTGRES
from tests.checkout.support import DETAILS, item
from tests.factories import make_product
from tests.helpers import race

BUYERS = 24 if POSTGRES else 8


@pytest.fixture
def race_app(app, database_url, tmp_path):
    """A second app on the same database with a connection for every buyer."""
    options = {"pool_size": BUYERS + 2, "max_overflow": 0} if POSTGRES else {}
    racing = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, **options},
            "MAIL_OUTBOX_DIR": str(tmp_path / "race-outbox"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "SERVER_NAME": "diadem.test",
            "PUBLIC_BASE_URL": "http://diadem.test",
        }
    )
    yield racing
    with racing.app_context():
        db.session.remove()
        db.engine.dispose()  # before the app fixture drops the tables


def test_buyers_racing_for_the_last_three_pieces(app, race_app):
    with app.app_context():
        product_id = make_product("last-three", edition_size=25, sold=22).id

    def buyer(number: int) -> tuple[str, str]:
        try:
            with atomic():
                order = services.place_order(
                    owner=services.CartOwner(guest_items=(item(product_id),)),
                    details=replace(DETAILS, email=f"buyer{number}@example.com"),
                    payment_method="manual",
                    policy_accepted=True,
                )
            return ("reserved", order.lines[0].piece_label)
        except services.SoldOut as exc:
            return ("sold out", str(exc))

    results = race(BUYERS, buyer, app=race_app)
    assert len(results) == BUYERS
    reserved = sorted(label for kind, label in results if kind == "reserved")
    refusals = [message for kind, message in results if kind == "sold out"]
    assert reserved == ["23/25", "24/25", "25/25"]
    assert len(refusals) == BUYERS - 3
    assert all("sold out" in message for message in refusals)
    with app.app_context():
        statuses = db.session.execute(
            select(Piece.status, func.count())
            .join(EditionRun, EditionRun.id == Piece.run_id)
            .where(EditionRun.product_id == product_id)
            .group_by(Piece.status)
        ).all()
        assert dict(statuses) == {"sold": 22, "reserved": 3}
        live = db.session.execute(
            select(func.count(OrderLine.id)).where(OrderLine.piece_released_at.is_(None))
        ).scalar_one()
        assert live == 3


@pytest.mark.skipif(not POSTGRES, reason="advisory locks serialise one buyer on PostgreSQL")
def test_one_buyer_racing_many_sessions_holds_at_most_two_pieces(app, race_app):
    """The audit's hoarder: one address, many sessions, orders fired at the same instant."""
    with app.app_context():
        product_id = make_product("hoarded", edition_size=50).id

    def hoarder(number: int) -> str:
        owner = services.CartOwner(guest_items=(item(product_id),), session_key=f"session-{number}")
        email = f"Hoarder+{number}@Example.com"  # the +tag and the case do not make a new buyer
        try:
            with atomic():
                services.place_order(
                    owner=owner,
                    details=replace(DETAILS, email=email),
                    payment_method="manual",
                    policy_accepted=True,
                )
            return "held"
        except services.HoldLimitReached:
            return "refused"

    outcomes = race(BUYERS, hoarder, app=race_app)
    assert sorted(outcomes) == ["held"] * 2 + ["refused"] * (BUYERS - 2)
    with app.app_context():
        held = db.session.execute(
            select(func.count(OrderLine.id)).where(
                OrderLine.product_id == product_id, OrderLine.piece_released_at.is_(None)
            )
        ).scalar_one()
        assert held == 2
