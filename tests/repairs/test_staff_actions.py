"""What each action on a ticket answers: no ticket is a 404, an incomplete form says so, a
refusal is said and changes nothing, a success is said; then back to the ticket."""

from __future__ import annotations

import html
import re

from app.common.transactions import atomic
from app.extensions import db
from app.repairs import services as repairs
from app.repairs.models import RepairTicket
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD


def flashes(response) -> list[tuple[str, str]]:
    """The (category, message) pairs the page after the redirect shows."""
    found = re.findall(r'<p class="flash flash-(\w+)">(.*?)</p>', response.get_data(as_text=True))
    return [(category, html.unescape(message)) for category, message in found]


def test_staff_actions_answer_each_outcome(app, client, atelier, delivered):
    _, line_id = delivered
    with app.app_context(), atomic():
        ticket_id = repairs.request_repair(
            user_id=atelier.customer_id,
            order_line_id=line_id,
            description="The comb came loose at the back.",
            preferred_return_on=None,
        ).id
    login(client, "mira@example.org", PASSWORD)
    page = f"/staff/repairs/{ticket_id}"

    def post(action: str, **data):
        form = {"csrf_token": csrf_token(client, page), **data}
        response = client.post(f"{page}/{action}", data=form)
        if response.status_code != 302:
            return response.status_code, []
        assert response.headers["Location"] == page
        return 302, flashes(client.get(page))

    token = csrf_token(client, page)
    assert client.post("/staff/repairs/999999/assess", data={"csrf_token": token}).status_code == (
        404
    )
    assert client.post(f"{page}/photos", data={}).status_code == 400  # no CSRF token
    assert client.get(f"{page}/photos/999999").status_code == 404  # not this ticket's photo
    warn = "warning"
    assert post("assess") == (302, [(warn, "Write the assessment.")])
    assert post("quote", amount="-1") == (302, [(warn, "A quote cannot be negative.")])
    assert post("quote", amount="1.234") == (
        302,
        [(warn, "'1.234' has more than 2 decimal places")],
    )
    assert post("decision") == (302, [(warn, "Choose accept or decline.")])
    assert post("move", target="in_repair") == (
        302,
        [(warn, "That form was incomplete; try again.")],
    )
    # Refused by the service: said, nothing changes.
    status, said = post("quote", amount="10")
    assert status == 302 and [category for category, _ in said] == [warn]
    assert post("assess", assessment="Resolder the comb.", under_warranty="y") == (
        302,
        [("success", "Assessment recorded.")],
    )
    assert post("quote", amount="0") == (302, [("success", "Quote sent.")])
    # Bea asked online, so she decides online; staff record decisions for walk-ins only.
    assert post("decision", decision="accept") == (
        302,
        [(warn, "The owner accepts or declines online quotes themselves.")],
    )
    with app.app_context(), atomic():
        repairs.decide_quote(
            ticket_id=ticket_id, accept=True, comment="", by_user_id=atelier.customer_id
        )
    assert post("move", target="in_repair", expected_status="approved") == (
        302,
        [("success", "Ticket moved to In repair.")],
    )
    with app.app_context():
        ticket = db.session.get(RepairTicket, ticket_id)
        assert (ticket.status, ticket.under_warranty, ticket.quote_minor) == ("in_repair", True, 0)


def test_the_owner_is_told_to_choose_when_the_decision_is_missing(app, client, atelier, delivered):
    _, line_id = delivered
    with app.app_context(), atomic():
        ticket_id = repairs.request_repair(
            user_id=atelier.customer_id,
            order_line_id=line_id,
            description="The comb came loose at the back.",
            preferred_return_on=None,
        ).id
    login(client, "bea@example.com", PASSWORD)
    page = f"/account/repairs/{ticket_id}"
    assert client.get(f"{page}/photos/999999").status_code == 404  # not this ticket's photo
    response = client.post(f"{page}/decision", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 302 and response.headers["Location"] == page
    assert flashes(client.get(page)) == [("warning", "Choose accept or decline.")]
    # Nothing to decide yet: the refusal is said, the ticket stays as it was.
    response = client.post(
        f"{page}/decision", data={"csrf_token": csrf_token(client, page), "decision": "accept"}
    )
    assert response.status_code == 302 and response.headers["Location"] == page
    assert [category for category, _ in flashes(client.get(page))] == ["warning"]
    with app.app_context():
        assert db.session.get(RepairTicket, ticket_id).status == "received"
