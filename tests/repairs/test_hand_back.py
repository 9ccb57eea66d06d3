"""A piece that came by post goes back by carrier, with its tracking; one handed over at the
counter (a walk-in) is collected there and needs none."""

from __future__ import annotations

import pytest

from app.common.transactions import atomic
from app.extensions import db
from app.repairs import services as repairs
from app.repairs.models import RepairTicket
from tests.helpers import csrf_token, login
from tests.repairs.test_payments import requested
from tests.staff.builders import PASSWORD


def _declined(ticket_id: int, by_user_id: int, owner_id: int | None) -> int:
    with atomic():
        repairs.assess(
            ticket_id=ticket_id, assessment="Re-set", under_warranty=False, by_user_id=by_user_id
        )
    with atomic():
        repairs.send_quote(ticket_id=ticket_id, quote_minor=9_000, note="", by_user_id=by_user_id)
    with atomic():
        repairs.decide_quote(
            ticket_id=ticket_id,
            accept=False,
            comment="",
            by_user_id=owner_id or by_user_id,
            on_behalf=owner_id is None,
        )
    return ticket_id


def _walk_in(atelier) -> int:
    with atomic():
        return repairs.open_walk_in(
            by_user_id=atelier.checker_id,
            contact_name="Iris Vale",
            contact_email="",
            contact_phone="+44 20 7946 0001",
            passport_code="",
            piece_description="Silver bangle",
            description="The hinge is stiff.",
            preferred_return_on=None,
        ).id


def _status(app, ticket_id: int) -> tuple[str, str]:
    with app.app_context():
        ticket = db.session.get(RepairTicket, ticket_id)
        return ticket.status, ticket.tracking_number


def test_a_posted_in_piece_is_not_returned_without_carrier_and_tracking(
    app, client, atelier, delivered
):
    with app.app_context():
        ticket_id = _declined(
            requested(atelier, delivered[1]), atelier.checker_id, atelier.customer_id
        )
    login(client, "theo@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"
    html = client.get(page).get_data(as_text=True)
    assert "Ship it back unrepaired" in html and "Return unrepaired" not in html
    token = csrf_token(client, page)
    # The plain move (an old page, a hand-made post) is refused beside the ship-back form.
    moved = client.post(
        f"{page}/move",
        data={"csrf_token": token, "target": "returned", "expected_status": "declined"},
    )
    text = moved.get_data(as_text=True)
    assert moved.status_code == 400
    assert "came by post: ship it back with the carrier and the tracking number" in text
    assert 'class="errors" role="alert"' in text and 'name="tracking_number"' in text
    assert _status(app, ticket_id) == ("declined", "")
    with app.app_context(), pytest.raises(repairs.NeedsTracking), atomic():
        repairs.move_ticket(
            ticket_id=ticket_id,
            target="returned",
            expected_status="declined",
            by_user_id=atelier.checker_id,
        )
    ship = {
        "csrf_token": token,
        "expected_status": "declined",
        "carrier": "DHL",
        "tracking_number": "",
    }
    no_tracking = client.post(f"{page}/ship", data=ship)
    assert no_tracking.status_code == 400 and _status(app, ticket_id) == ("declined", "")
    assert (
        client.post(f"{page}/ship", data={**ship, "tracking_number": "JD0146"}).status_code == 302
    )
    assert _status(app, ticket_id) == ("returned", "JD0146")


def test_a_walk_in_piece_is_collected_at_the_counter_without_tracking(app, client, atelier):
    with app.app_context():
        ticket_id = _declined(_walk_in(atelier), atelier.checker_id, None)
    login(client, "theo@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"
    assert "Return unrepaired" in client.get(page).get_data(as_text=True)
    moved = client.post(
        f"{page}/move",
        data={
            "csrf_token": csrf_token(client, page),
            "target": "returned",
            "expected_status": "declined",
        },
    )
    assert moved.status_code == 302
    assert _status(app, ticket_id) == ("returned", "")
