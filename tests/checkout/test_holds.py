"""Nobody holds a limited edition without paying: a per-buyer limit, short unconfirmed guest
holds, and renewals that count (the audit's edition-hoarding findings)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from app.checkout import services
from app.checkout.models import Order
from app.common import visitors
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from tests.checkout.support import add_to_cart, checkout, item, order_number, place
from tests.helpers import csrf_token, login, make_user

LIMIT_MESSAGE = "one buyer may reserve at most 2 pieces of Test Tiara"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def lapse(order: Order) -> None:
    with atomic():
        order = db.session.get(Order, order.id)
        order.reserved_until = utcnow() - timedelta(minutes=1)
        for line in order.lines:
            if line.piece is not None:
                line.piece.reserved_until = order.reserved_until


def test_email_key_ignores_case_and_tags():
    assert visitors.email_key(" Bea+Wedding@Example.COM ") == "bea@example.com"
    assert visitors.email_key("bea@example.com") == "bea@example.com"


# --- the limit, by each name a buyer goes by -------------------------------------------------


def test_one_address_holds_at_most_two_pieces_of_an_edition(app_ctx, shop):
    place(item(shop.tiara_id, quantity=2), email="hoarder@example.com")
    with pytest.raises(services.HoldLimitReached, match="You already hold 2"):
        place(item(shop.tiara_id), email="Hoarder+2@example.com")
    # Another edition (the same design in silver) and another buyer are not affected.
    place(item(shop.tiara_id, "silver"), email="hoarder@example.com")
    place(item(shop.tiara_id), email="someone-else@example.com")


def test_one_session_with_many_addresses_is_one_buyer(app_ctx, shop):
    def order_from_session(email: str) -> Order:
        owner = services.CartOwner(guest_items=(item(shop.tiara_id),), session_key="s" * 24)
        with atomic():
            return services.place_order(
                owner=owner,
                details=services.ShippingDetails(
                    email=email,
                    name="H",
                    address_line1="1 Lane",
                    city="London",
                    postal_code="N1",
                    country="GB",
                ),
                payment_method="manual",
                policy_accepted=True,
            )

    order_from_session("a@example.com")
    order_from_session("b@example.com")
    with pytest.raises(services.HoldLimitReached):
        order_from_session("c@example.com")


def test_an_account_is_one_buyer_whatever_address_it_types(app, app_ctx, shop):
    user_id = make_user(app)
    owner = services.CartOwner(user_id=user_id)
    for address in ("a@example.com", "b@example.com"):
        with atomic():
            services.add_to_cart(
                owner=owner, product_id=shop.tiara_id, metal_code="yellow-gold", size_code="M"
            )
        place(user_id=user_id, email=address)
    with pytest.raises(services.HoldLimitReached), atomic():
        services.add_to_cart(
            owner=owner, product_id=shop.tiara_id, metal_code="yellow-gold", size_code="M"
        )


def test_paid_and_lapsed_orders_do_not_count(app, app_ctx, shop):
    paid = place(item(shop.tiara_id, quantity=2), email="collector@example.com")
    with atomic():
        services.mark_paid(order_id=paid.id)
    lapsed = place(item(shop.tiara_id, quantity=2), email="collector@example.com")
    lapse(lapsed)
    place(item(shop.tiara_id, quantity=2), email="collector@example.com")


def test_renewing_a_lapsed_order_counts_against_the_limit(app_ctx, shop):
    first = place(item(shop.tiara_id, quantity=2), email="renewer@example.com")
    lapse(first)
    with atomic():
        services.expire_if_lapsed(first)
    assert first.can_retry_payment
    place(item(shop.tiara_id, quantity=2), email="renewer@example.com")
    with pytest.raises(services.HoldLimitReached), atomic():
        services.retry_payment(order_id=first.id, payment_method="manual")
    db.session.expire_all()
    first = db.session.get(Order, first.id)
    assert first.status == "cancelled" and not any(line.is_holding_piece for line in first.lines)


# --- what the buyer sees ---------------------------------------------------------------------


def test_the_cart_says_why_it_cannot_add_more(client, shop):
    page = text(add_to_cart(client, shop.tiara_id, quantity=3))
    # Issue 15 item 9: what the buyer may hold goes in, with the reason (not an empty cart).
    assert f"{LIMIT_MESSAGE} in 18k yellow gold: we added 2." in page and 'value="2"' in page
    page = text(add_to_cart(client, shop.tiara_id))
    assert LIMIT_MESSAGE in page and "we added" not in page
    add_to_cart(client, shop.tiara_id, quantity=2)
    assert checkout(client).status_code == 302
    page = text(add_to_cart(client, shop.tiara_id))
    assert LIMIT_MESSAGE in page and "You already hold 2" in page


def test_checkout_refuses_a_cart_past_the_limit_with_a_message(app, client, shop):
    add_to_cart(client, shop.tiara_id, quantity=2)
    with app.app_context():
        place(item(shop.tiara_id, quantity=2), email="bea@example.com")  # another tab, same address
    response = checkout(client)
    assert response.status_code == 400 and LIMIT_MESSAGE in text(response)
    with app.app_context():
        assert db.session.query(Order).count() == 1


# --- a guest's bank-transfer hold waits for the address ------------------------------------


def _confirm_link(app, number: str) -> str:
    mails = [m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if number in m["Subject"]]
    body = mails[-1].get_body(("plain",)).get_content()
    match = re.search(r"http://diadem\.test(/account/orders/[^/\s]+/confirm-email\?t=\S+)", body)
    assert match, body
    return match.group(1)


def test_a_guest_confirms_the_address_and_the_hold_runs_its_full_term(app, client, shop):
    add_to_cart(client, shop.tiara_id)
    before = utcnow()
    number = order_number(checkout(client))
    with app.app_context():
        order = services.get_order_by_number(number)
        assert order.email_confirmed_at is None
        assert timedelta(minutes=29) < order.reserved_until - before <= timedelta(minutes=31)
    assert "Please confirm your address" in text(client.get(f"/account/orders/{number}"))

    link = _confirm_link(app, number)
    stranger = app.test_client()
    page = text(stranger.get(link))  # a GET (a mail scanner, a preview) changes nothing
    assert "Confirm my address" in page
    with app.app_context():
        assert services.get_order_by_number(number).email_confirmed_at is None
    token = link.split("t=", 1)[1]
    page = text(
        stranger.post(
            f"/account/orders/{number}/confirm-email",
            data={"csrf_token": csrf_token(stranger, link), "t": token},
        )
    )
    assert "your address is confirmed" in page
    with app.app_context():
        order = services.get_order_by_number(number)
        assert order.email_confirmed_at is not None
        assert order.reserved_until - before >= timedelta(hours=71)
        assert order.lines[0].piece.reserved_until == order.reserved_until


def test_a_forged_or_foreign_confirmation_link_is_404(app, client, shop):
    add_to_cart(client, shop.tiara_id)
    number = order_number(checkout(client))
    with app.app_context():
        other = place(item(shop.tiara_id, "silver")).number
        order_token = services.order_link_token(number)
    token = _confirm_link(app, number).split("t=", 1)[1]
    assert client.get(f"/account/orders/{number}/confirm-email?t=forged").status_code == 404
    assert client.get(f"/account/orders/{other}/confirm-email?t={token}").status_code == 404
    assert client.get(f"/account/orders/{number}/confirm-email").status_code == 404
    # The order link (what the browser session holds) does not confirm the address.
    assert client.get(f"/account/orders/{number}/confirm-email?t={order_token}").status_code == 404


def test_confirming_after_the_short_hold_lapsed_offers_to_reserve_again(app, client, shop):
    add_to_cart(client, shop.tiara_id)
    number = order_number(checkout(client))
    link = _confirm_link(app, number)
    with app.app_context():
        lapse(services.get_order_by_number(number))
    token = link.split("t=", 1)[1]
    page = text(
        client.post(
            f"/account/orders/{number}/confirm-email",
            data={"csrf_token": csrf_token(client, link), "t": token},
        )
    )
    assert "short hold on your pieces had lapsed" in page and "Reserve again" in page
    with app.app_context():
        order = services.get_order_by_number(number)
        assert order.status == "cancelled" and order.email_confirmed_at is not None
        with atomic():
            order = services.retry_payment(order_id=order.id, payment_method="manual")
        assert order.reserved_until - utcnow() >= timedelta(hours=71)  # confirmed: full term


def test_an_account_holders_bank_transfer_is_held_at_once(app, client, shop):
    make_user(app, "bea@example.com")
    login(client, "bea@example.com")
    add_to_cart(client, shop.tiara_id)
    number = order_number(checkout(client))
    with app.app_context():
        order = services.get_order_by_number(number)
        assert order.email_confirmed_at is not None
        assert order.reserved_until - utcnow() >= timedelta(hours=71)
