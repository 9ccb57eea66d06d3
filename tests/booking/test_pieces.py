"""Only pieces on sale can be the subject of a consultation: not a draft, not a retired one."""

from __future__ import annotations

import pytest

from app.booking.services import pieces
from app.common.transactions import atomic
from app.extensions import db
from tests.factories import make_product


@pytest.mark.parametrize("status", ["draft", "retired"])
def test_a_commission_not_on_sale_is_not_offered_for_booking(app, status):
    with app.app_context():
        with atomic():
            shown = make_product("open-bespoke", tier="custom")
            hidden = make_product("hidden-bespoke", tier="custom")
            hidden.status = status
            db.session.flush()
        slugs = [p.slug for p in pieces.custom_products()]
        assert "open-bespoke" in slugs and "hidden-bespoke" not in slugs
        assert pieces.product_by_slug("hidden-bespoke") is None
        assert pieces.product_by_slug("open-bespoke").id == shown.id
