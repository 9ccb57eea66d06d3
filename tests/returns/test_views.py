"""Who may ask for a return and who may act on it; the pages and links along the way."""

from __future__ import annotations

import re

import pytest

from app.catalog.models import Piece
from app.checkout import services as checkout
from app.common.mail import read_outbox
from app.extensions import db
from app.returns import services
from tests.helpers import csrf_token
from tests.returns.conftest import delivered_order, guest_delivered_order
from tests.staff.builders import PASSWORD, only_line, png_bytes


def sign_in(client, email: str) -> None:
    token = csrf_token(client, "/account/login")
    response = client.post(
        "/account/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


@pytest.fixture
def order_info(app, shop):
    with app.app_context():
        order = delivered_order(shop)
        return {"number": order.number, "line_id": only_line(order).id, "id": order.id}


def _ask(client, number: str, line_id: int, *, query: str = "", **extra):
    url = f"/account/orders/{number}/return{query}"
    data = {"csrf_token": csrf_token(client, url), "lines": str(line_id), "reason": "fit"}
    data.update(extra)
    return client.post(url, data=data, content_type="multipart/form-data")


def test_the_owner_asks_for_a_return_from_the_order_page(app, client, order_info):
    sign_in(client, "bea@example.com")
    number = order_info["number"]
    order_page = client.get(f"/account/orders/{number}").get_data(as_text=True)
    assert f'href="/account/orders/{number}/return"' in order_page
    assert "Request a return" in order_page
    page = client.get(f"/account/orders/{number}/return").get_data(as_text=True)
    assert 'name="lines"' in page and "you may ask to return a piece until" in page
    response = _ask(
        client,
        number,
        order_info["line_id"],
        photos=[(__import__("io").BytesIO(png_bytes()), "p.png")],
    )
    assert response.status_code == 302
    with app.app_context():
        [made] = services.returns_for_order(order_info["id"])
        assert made.status == "requested" and made.reason == "fit" and len(made.photos) == 1
        photo_id = made.photos[0].id
    page = client.get(f"/account/orders/{number}/return").get_data(as_text=True)
    assert "Every piece of this order is already on a return." in page
    photo = client.get(f"/account/orders/{number}/returns/{made.id}/photos/{photo_id}")
    photo.close()
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"


def test_another_customer_and_a_stranger_get_404(app, client, order_info):
    number = order_info["number"]
    assert client.get(f"/account/orders/{number}/return").status_code == 404
    sign_in(client, "cy@example.com")
    assert client.get(f"/account/orders/{number}/return").status_code == 404
    token = csrf_token(client, "/account/login")
    response = client.post(
        f"/account/orders/{number}/return",
        data={"csrf_token": token, "lines": str(order_info["line_id"]), "reason": "fit"},
    )
    assert response.status_code == 404
    with app.app_context():
        assert services.returns_for_order(order_info["id"]) == []


def test_a_post_without_the_csrf_token_is_refused(app, client, order_info):
    sign_in(client, "bea@example.com")
    response = client.post(
        f"/account/orders/{order_info['number']}/return",
        data={"lines": str(order_info["line_id"]), "reason": "fit"},
    )
    assert response.status_code == 400
    with app.app_context():
        assert services.returns_for_order(order_info["id"]) == []


def test_a_guest_asks_through_the_signed_order_link(app, client, shop):
    with app.app_context():
        order = guest_delivered_order(shop)
        number, line_id, order_id = order.number, only_line(order).id, order.id
        token = checkout.order_link_token(number)
    assert client.get(f"/account/orders/{number}/return").status_code == 404
    assert client.get(f"/account/orders/{number}/return?t=forged").status_code == 404
    page = client.get(f"/account/orders/{number}/return?t={token}").get_data(as_text=True)
    assert f'name="t" value="{token}"' in page
    fresh = client.application.test_client()  # a browser with the link only: t in the form
    url = f"/account/orders/{number}/return?t={token}"
    data = {
        "csrf_token": csrf_token(fresh, url),
        "t": token,
        "lines": str(line_id),
        "reason": "fit",
    }
    assert fresh.post(f"/account/orders/{number}/return", data=data).status_code == 302
    with app.app_context():
        assert len(services.returns_for_order(order_id)) == 1


def test_a_bad_line_or_missing_reason_is_a_400_with_a_message(app, client, order_info):
    sign_in(client, "bea@example.com")
    number = order_info["number"]
    response = _ask(client, number, 999_999)
    assert response.status_code == 400 and "cannot be returned" in response.get_data(as_text=True)
    response = _ask(client, number, order_info["line_id"], reason="")
    assert response.status_code == 400 and "Choose the reason" in response.get_data(as_text=True)
    response = _ask(client, number, order_info["line_id"], lines="abc")
    assert response.status_code == 400


def test_outside_the_window_the_page_says_why_and_offers_a_repair(app, client, shop):
    with app.app_context():
        order = delivered_order(shop, days_ago=20)
        number = order.number
    sign_in(client, "bea@example.com")
    page = client.get(f"/account/orders/{number}/return").get_data(as_text=True)
    assert "return window closed at the end of" in page
    assert 'name="lines"' not in page
    assert "Request a repair" in page and "Book a consultation" in page
    assert "Request a return" not in client.get(f"/account/orders/{number}").get_data(as_text=True)
    response = _ask(client, number, 1)
    assert response.status_code == 409


def test_before_delivery_there_is_no_form(app, client, shop):
    from tests.staff.builders import paid_order

    with app.app_context():
        number = paid_order(
            user_id=shop.atelier.customer_id, product_id=shop.atelier.studio_product_id
        ).number
    sign_in(client, "bea@example.com")
    page = client.get(f"/account/orders/{number}/return").get_data(as_text=True)
    assert "once the parcel is delivered" in page and 'name="lines"' not in page


STAFF_URLS = [
    ("get", "/staff/returns"),
    ("get", "/staff/returns/{id}"),
    ("post", "/staff/returns/{id}/approve"),
    ("post", "/staff/returns/{id}/refuse"),
    ("post", "/staff/returns/{id}/receive"),
    ("post", "/staff/returns/{id}/inspect"),
    ("post", "/staff/returns/{id}/refund"),
]


@pytest.fixture
def asked(app, client, order_info):
    sign_in(client, "bea@example.com")
    assert _ask(client, order_info["number"], order_info["line_id"]).status_code == 302
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})
    client.delete_cookie("session")
    with app.app_context():
        [made] = services.returns_for_order(order_info["id"])
        return {**order_info, "return_id": made.id}


def test_staff_pages_send_guests_to_sign_in_and_refuse_customers(app, asked):
    guest = app.test_client()
    for method, url in STAFF_URLS:
        response = getattr(guest, method)(url.format(id=asked["return_id"]))
        assert response.status_code in (302, 400), url
        if method == "get":
            assert "/account/login" in response.headers["Location"]
    customer = app.test_client()
    sign_in(customer, "bea@example.com")
    token = csrf_token(customer, "/")
    for method, url in STAFF_URLS:
        kwargs = {"data": {"csrf_token": token}} if method == "post" else {}
        response = getattr(customer, method)(url.format(id=asked["return_id"]), **kwargs)
        assert response.status_code == 403, url


def _staff_post(client, path: str, **data):
    page = f"/staff/returns/{path.split('/')[3]}"
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def test_staff_walk_a_return_to_its_refund(app, asked):
    rid, number = asked["return_id"], asked["number"]
    staff = app.test_client()
    sign_in(staff, "theo@example.org")
    listing = staff.get("/staff/returns").get_data(as_text=True)
    assert f"/staff/returns/{rid}" in listing and number in listing
    order_page = staff.get(f"/staff/orders/{number}").get_data(as_text=True)
    assert f"/staff/returns/{rid}" in order_page
    assert _staff_post(staff, f"/staff/returns/{rid}/approve").status_code == 302
    page = staff.get(f"/staff/returns/{rid}").get_data(as_text=True)
    ra = re.search(r"RA-[A-Z0-9]{6}", page).group(0)
    [mail] = [m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if ra in m["Subject"]]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "insured" in text and "signed-for" in text and "Hatton Garden" in text
    assert f"http://diadem.test/account/orders/{number}/return" in text and ra in html
    assert _staff_post(staff, f"/staff/returns/{rid}/receive").status_code == 302
    # A pass with an item unticked is refused, with the reason, and nothing changes.
    refused = _staff_post(
        staff, f"/staff/returns/{rid}/inspect", verdict="pass", items="hallmark_intact"
    )
    assert refused.status_code == 400 and "every item" in refused.get_data(as_text=True)
    response = staff.post(
        f"/staff/returns/{rid}/inspect",
        data={
            "csrf_token": csrf_token(staff, f"/staff/returns/{rid}"),
            "verdict": "pass",
            "items": ["hallmark_intact", "no_new_damage", "stones_secure", "packaging_complete"],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        piece_id = services.get_return(rid).lines[0].order_line.piece_id
        assert db.session.get(Piece, piece_id).status == "available"
    # Staff (not admins) cannot move money.
    assert _staff_post(staff, f"/staff/returns/{rid}/refund", bank_reference="B").status_code == 403
    admin = app.test_client()
    sign_in(admin, "ada@example.org")
    assert "Refund by bank transfer" in admin.get(f"/staff/returns/{rid}").get_data(as_text=True)
    missing = _staff_post(admin, f"/staff/returns/{rid}/refund")
    assert missing.status_code == 409 and "reference" in missing.get_data(as_text=True)
    done = _staff_post(admin, f"/staff/returns/{rid}/refund", bank_reference="BANK-77")
    assert done.status_code == 302
    again = _staff_post(admin, f"/staff/returns/{rid}/refund", bank_reference="BANK-77")
    assert again.status_code == 409
    with app.app_context():
        order = checkout.get_order_by_number(number)
        assert order.refunded_minor == only_line(order).total_minor
        assert services.get_return(rid).status == "refunded"
    buyer = app.test_client()
    sign_in(buyer, "bea@example.com")
    page = buyer.get(f"/account/orders/{number}/return").get_data(as_text=True)
    assert ra in page and "Refunded" in page


def test_staff_refuse_with_a_reason(app, asked):
    rid = asked["return_id"]
    staff = app.test_client()
    sign_in(staff, "theo@example.org")
    assert _staff_post(staff, f"/staff/returns/{rid}/refuse").status_code == 400
    assert _staff_post(staff, f"/staff/returns/{rid}/refuse", reason="Worn.").status_code == 302
    with app.app_context():
        assert services.get_return(rid).status == "refused"
    assert staff.get("/staff/returns/999999").status_code == 404
