from __future__ import annotations

import pytest

from app.common.transactions import atomic
from app.staff import services as staff
from tests.checkout.conftest import localstripe, stripe_app  # noqa: F401 (card refunds)
from tests.staff.builders import build_atelier, only_line, paid_order, studio_to_packed


@pytest.fixture(autouse=True)
def private_uploads(app, tmp_path):
    """Uploads of this test go to its own folder, not the checkout's instance/."""
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")


@pytest.fixture
def atelier(app):
    with app.app_context():
        return build_atelier()


@pytest.fixture
def delivered(app, atelier):
    """Bea's studio piece, made, checked and shipped: (order number, line id)."""
    with app.app_context():
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        line_id = only_line(order).id
        studio_to_packed(atelier, line_id)
        with atomic():
            staff.ship_order(
                order_id=order.id,
                carrier="DHL",
                tracking_number="1",
                insured_value_minor=None,
                by_user_id=atelier.checker_id,
            )
        return order.number, line_id
