"""An order opened without its link offers to email the link: only to the order's own address,
with one answer whether or not the order exists (no enumeration), and rate-limited."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from app.common.mail import read_outbox
from tests.checkout.support import item, make_shop, place
from tests.helpers import csrf_token

SENT = "its link is on its way there now"
LINK = re.compile(r"(http://\S+/account/orders/DIA-[A-Z0-9]{6}\?t=\S+)")


@pytest.fixture
def order_number(app) -> str:
    with app.app_context():
        shop = make_shop()
        return place(item(shop.tiara_id), email="Gwen.Guest@example.com").number


def _ask(client, number: str, email: str):
    token = csrf_token(client, "/account/login")
    return client.post(f"/account/orders/{number}/link", data={"csrf_token": token, "email": email})


def _outbox(app) -> list:
    return read_outbox(app.config["MAIL_OUTBOX_DIR"])


def test_an_order_without_its_link_offers_to_email_it(app, client, order_number):
    response = client.get(f"/account/orders/{order_number}")

    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Email me the link" in html and "Gwen" not in html


def test_the_link_goes_to_the_orders_own_address_and_opens_the_order(app, client, order_number):
    before = len(_outbox(app))
    response = _ask(client, order_number, "gwen.guest+shop@EXAMPLE.com")

    assert response.status_code == 200 and SENT in response.get_data(as_text=True)
    messages = _outbox(app)[before:]
    (message,) = messages
    assert message["To"].lower() == "gwen.guest@example.com"
    assert message.get_body(("html",)) is not None
    link = LINK.search(message.get_body(("plain",)).get_content()).group(1)
    parts = urlsplit(link)
    other = app.test_client()
    opened = other.get(f"{parts.path}?{parts.query}", follow_redirects=True)
    assert opened.status_code == 200 and order_number in opened.get_data(as_text=True)


@pytest.mark.parametrize("number", ["existing", "DIA-ZZZZZZ"])
def test_a_wrong_address_or_an_unknown_order_gets_the_same_answer_and_no_mail(
    app, client, order_number, number
):
    number = order_number if number == "existing" else number
    before = len(_outbox(app))
    response = _ask(client, number, "someone.else@example.com")

    assert response.status_code == 200
    assert SENT in response.get_data(as_text=True)
    assert len(_outbox(app)) == before


def test_a_bad_address_is_a_400_with_a_message(app, client, order_number):
    response = _ask(client, order_number, "")
    assert response.status_code == 400
    assert "Enter your email address." in response.get_data(as_text=True)


def test_asking_again_and_again_is_limited(app, client, order_number):
    statuses = [_ask(client, order_number, "nobody@example.com").status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
