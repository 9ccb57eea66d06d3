"""A repair is covered by the care plan frozen on the piece's order line, past the warranty."""

from __future__ import annotations

from datetime import date, timedelta

from app.checkout.models import OrderLine
from app.domain.clock import utcnow
from app.extensions import db
from app.repairs import services as repairs
from app.repairs.models import RepairTicket
from tests.repairs.test_payments import requested


def _sold_with_plan(line_id: int, *, years: int | None, delivered_years_ago: int) -> None:
    line = db.session.get(OrderLine, line_id)
    delivered = utcnow() - timedelta(days=365 * delivered_years_ago + 2)
    line.order.shipped_at = line.order.delivered_at = delivered
    line.care_plan_name, line.care_plan_years = "Plan", years
    line.care_plan_rule, line.care_plan_rule_amount = "fixed", 100
    line.care_plan_ends_on = (
        None if years is None else delivered.date().replace(year=delivered.year + years)
    )
    db.session.commit()


def test_a_five_year_plan_covers_a_repair_in_year_three_and_not_in_year_six(
    app, atelier, delivered
):
    _, line_id = delivered
    with app.app_context():
        _sold_with_plan(line_id, years=5, delivered_years_ago=3)
        ticket = db.session.get(RepairTicket, requested(atelier, line_id))
        cover = repairs.cover_for(ticket)
        ends = db.session.get(OrderLine, line_id).care_plan_ends_on
        assert cover.covered and cover.until == ends
        assert cover.reason.startswith("Covered: by the care plan until")
        ticket.created_at = utcnow() + timedelta(days=365 * 3)  # asked in year six
        assert not repairs.cover_for(ticket).covered
        assert "care plan ended" in repairs.cover_for(ticket).reason


def test_a_lifetime_plan_covers_for_ever(app, atelier, delivered):
    _, line_id = delivered
    with app.app_context():
        _sold_with_plan(line_id, years=None, delivered_years_ago=30)
        ticket = db.session.get(RepairTicket, requested(atelier, line_id))
        cover = repairs.cover_for(ticket)
        assert cover.covered and cover.until == date.max
        assert cover.reason == "Covered: by the lifetime care plan."
