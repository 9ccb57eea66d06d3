"""Two staff clicks at once refund a return once (PostgreSQL row locks)."""

from __future__ import annotations

import os

import pytest

from app.checkout.models import Order
from app.common.transactions import atomic
from app.domain.returns import INSPECTION_KEYS
from app.extensions import db
from app.returns import services
from tests.helpers import race
from tests.returns.conftest import delivered_order
from tests.staff.builders import only_line

pytestmark = pytest.mark.skipif(
    not os.environ.get("DIADEM_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locks are a PostgreSQL matter (SQLite serialises writers)",
)


def _race(app, workers: int, action) -> list[str]:
    def run(i: int) -> str:
        with atomic():
            action()
        return "done"

    outcomes = race(workers, run, app=app, catch=services.ReturnError)
    return sorted("refused" if isinstance(o, Exception) else o for o in outcomes)


def test_two_refunds_at_once_refund_once(app, shop):
    with app.app_context():
        order = delivered_order(shop)
        order_id, line_total = order.id, only_line(order).total_minor
        staff_id = shop.atelier.checker_id
        with atomic():
            made = services.request_return(
                order=order,
                line_ids=[only_line(order).id],
                reason="fit",
                details="",
                photos=[],
                by_user_id=order.user_id,
            )
        return_id = made.id
        for step in (services.approve_return, services.receive_return):
            with atomic():
                step(return_id=return_id, by_user_id=staff_id)
        with atomic():
            services.inspect_return(
                return_id=return_id, items=INSPECTION_KEYS, passed=True, notes="", by_user_id=1
            )

    outcomes = _race(
        app,
        4,
        lambda: services.refund_return(
            return_id=return_id, by_user_id=shop.admin_id, bank_reference="B-1"
        ),
    )
    assert outcomes == ["done", "refused", "refused", "refused"]
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.refunded_minor == line_total and len(order.refunds) == 1


def test_two_approvals_at_once_issue_one_number(app, shop):
    with app.app_context():
        order = delivered_order(shop)
        with atomic():
            made = services.request_return(
                order=order,
                line_ids=[only_line(order).id],
                reason="fit",
                details="",
                photos=[],
                by_user_id=order.user_id,
            )
        return_id = made.id
    outcomes = _race(
        app, 3, lambda: services.approve_return(return_id=return_id, by_user_id=shop.admin_id)
    )
    assert outcomes == ["done", "refused", "refused"]


def test_two_requests_at_once_open_one_return(app, shop):
    with app.app_context():
        order = delivered_order(shop)
        order_id, line_id = order.id, only_line(order).id

    def ask() -> None:
        services.request_return(
            order=db.session.get(Order, order_id),
            line_ids=[line_id],
            reason="fit",
            details="",
            photos=[],
            by_user_id=None,
        )

    assert _race(app, 3, ask) == ["done", "refused", "refused"]
    with app.app_context():
        assert len(services.returns_for_order(order_id)) == 1
