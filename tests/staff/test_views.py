from __future__ import annotations

import io
import re

import pytest

from app.checkout import services as checkout
from app.common.transactions import atomic
from app.domain.packing import PACKING_KEYS
from app.extensions import db
from app.staff import services as staff
from app.staff.models import DesignFile, DesignRound
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, only_line, pack, paid_order, png_bytes, qc_pass


def move(line_id, target, by):
    if target == "packed":
        return pack(line_id, by)
    with atomic():
        return staff.move_line(
            order_line_id=line_id, target=target, expected_stage=None, by_user_id=by
        )


@pytest.fixture
def studio(app, atelier):
    with app.app_context():
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        return order.number, only_line(order).id


@pytest.fixture
def custom(app, atelier):
    with app.app_context():
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.custom_product_id)
        line = only_line(order)
        move(line.id, "cad_design", atelier.artisan_id)
        with atomic():
            design_round = staff.send_design_round(
                order_line_id=line.id,
                kind="cad",
                files=[(png_bytes(), "Front view")],
                message="Your first render",
                by_user_id=atelier.artisan_id,
            )
        return order.number, line.id, design_round.id, design_round.files[0].id


def post_move(client, number, line_id, target, expected):
    page = f"/staff/orders/{number}"
    return client.post(
        f"{page}/lines/{line_id}/move",
        data={"csrf_token": csrf_token(client, page), "target": target, "expected_stage": expected},
        follow_redirects=True,
    )


def post_pack(client, number, line_id, items, photo: bytes | None = b"png", expected="qc"):
    page = f"/staff/orders/{number}"
    data = {
        "csrf_token": csrf_token(client, page),
        "items": list(items),
        "expected_stage": expected,
    }
    if photo is not None:
        data["photo"] = (io.BytesIO(png_bytes((64, 48)) if photo == b"png" else photo), "box.png")
    return client.post(
        f"{page}/lines/{line_id}/pack",
        data=data,
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_staff_order_page_moves_and_refusals(client, atelier, studio):
    number, line_id = studio
    login(client, "mira@example.org", PASSWORD)
    html = client.get(f"/staff/orders/{number}").get_data(as_text=True)
    assert "Start hand finishing" in html and "Bea Buyer" in html
    html = post_move(client, number, line_id, "hand_finishing", "paid").get_data(as_text=True)
    assert "moved to Hand finishing" in html and 'data-testid="stage">Hand finishing' in html
    html = post_move(client, number, line_id, "shipped", "hand_finishing").get_data(as_text=True)
    assert "cannot go from Hand finishing to Shipped" in html
    html = post_move(client, number, line_id, "qc", "paid").get_data(as_text=True)
    assert "someone moved it meanwhile" in html


def test_unknown_and_foreign_order_numbers(client, atelier, studio):
    login(client, "mira@example.org", PASSWORD)
    assert client.get("/staff/orders/NOPE123").status_code == 404
    html = client.get("/staff/orders?number=NOPE123", follow_redirects=True).get_data(as_text=True)
    assert "There is no order &#39;NOPE123&#39;; check the number." in html
    found = client.get(f"/staff/orders?number={studio[0].lower()}")
    assert found.status_code == 302 and found.location.endswith(f"/staff/orders/{studio[0]}")


def qc_data(token, **overrides):
    data = {
        "csrf_token": token,
        "stone_tightness": "pass",
        "solder_integrity": "pass",
        "hallmark_present": "pass",
        "measured_grams": "100.4",
        "finish_grade": "B",
    }
    data.update(overrides)
    return data


def test_qc_form_enforces_four_eyes_and_records(app, client, atelier, studio):
    number, line_id = studio
    with app.app_context():
        move(line_id, "hand_finishing", atelier.artisan_id)
        move(line_id, "qc", atelier.artisan_id)
    login(client, "mira@example.org", PASSWORD)
    url = f"/staff/orders/{number}/lines/{line_id}/qc"
    page = client.get(url).get_data(as_text=True)
    assert "Finished by <strong>Mira Goldsmith</strong>" in page and "100.000 g" in page
    response = client.post(url, data=qc_data(csrf_token(client, url)))
    assert response.status_code == 400
    assert "someone else must check it (four-eyes rule)" in response.get_data(as_text=True)
    response = client.post(url, data=qc_data(csrf_token(client, url), measured_grams="heavy"))
    assert response.status_code == 400 and "not a weight in grams" in response.get_data(
        as_text=True
    )

    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})
    login(client, "theo@example.org", PASSWORD)
    response = client.post(url, data=qc_data(csrf_token(client, url)), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "QC passed for Aurelia Test" in html and "Pack" in html
    report = re.search(r'href="(/staff/qc/\d+)"', html).group(1)
    report_html = client.get(report).get_data(as_text=True)
    assert "QC passed" in report_html and "100.400 g measured, 100.000 g specified" in report_html


def test_pack_button_is_disabled_until_qc_passes(app, client, atelier, studio):
    number, line_id = studio
    with app.app_context():
        move(line_id, "hand_finishing", atelier.artisan_id)
        move(line_id, "qc", atelier.artisan_id)
    login(client, "theo@example.org", PASSWORD)
    html = client.get(f"/staff/orders/{number}").get_data(as_text=True)
    assert re.search(r'<button class="button" type="submit" disabled[^>]*>Pack</button>', html)
    html = post_pack(client, number, line_id, PACKING_KEYS).get_data(as_text=True)
    assert "cannot move to Packed until its QC check passes" in html
    html = post_move(client, number, line_id, "packed", "qc").get_data(as_text=True)
    assert "Pack with the packing checklist" in html


def test_ship_form(app, client, atelier, studio):
    number, line_id = studio
    login(client, "theo@example.org", PASSWORD)
    page = f"/staff/orders/{number}"
    data = {"carrier": "DHL", "tracking_number": "JD014600", "insured_value": "2500.00"}
    html = client.post(
        f"{page}/ship", data={**data, "csrf_token": csrf_token(client, page)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Cannot ship yet." in html and "cannot go from Paid to Shipped" in html
    with app.app_context():
        for target in ("hand_finishing", "qc"):
            move(line_id, target, atelier.artisan_id)
        qc_pass(line_id, checker_id=atelier.checker_id)
        move(line_id, "packed", atelier.checker_id)
    html = client.post(
        f"{page}/ship",
        data={**data, "insured_value": "-5", "csrf_token": csrf_token(client, page)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "insured value cannot be negative" in html
    html = client.post(
        f"{page}/ship", data={**data, "csrf_token": csrf_token(client, page)}, follow_redirects=True
    ).get_data(as_text=True)
    assert f"Order {number} shipped" in html and "JD014600" in html and "$2,500.00" in html


def test_design_upload_form(app, client, atelier):
    with app.app_context():
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.custom_product_id)
        number, line_id = order.number, only_line(order).id
        move(line_id, "cad_design", atelier.artisan_id)
    login(client, "mira@example.org", PASSWORD)
    page = f"/staff/orders/{number}"
    url = f"{page}/lines/{line_id}/designs"
    html = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, page),
            "kind": "cad",
            "files": [(io.BytesIO(b"not an image"), "render.png")],
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "not an image we can read" in html
    html = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, page),
            "kind": "cad",
            "caption": "Three-quarter view",
            "message": "First render",
            "files": [(io.BytesIO(png_bytes()), "render.png")],
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "CAD render, round 1 sent to the customer" in html
    assert "Waiting for the customer" in html
    with app.app_context():
        file_id = db.session.execute(db.select(DesignFile.id)).scalar_one()
    with client.get(f"{page}/designs/{file_id}") as served:
        assert served.status_code == 200 and served.mimetype == "image/png"


def test_customer_sees_and_answers_the_design(app, client, atelier, custom):
    number, line_id, round_id, file_id = custom
    login(client, "bea@example.com", PASSWORD)
    html = client.get(f"/account/orders/{number}").get_data(as_text=True)
    assert "Please review: CAD render, round 1" in html and "Your first render" in html
    with client.get(f"/account/orders/{number}/design-files/{file_id}") as served:
        assert served.status_code == 200 and served.headers["Cache-Control"] == "private, no-store"
    token = csrf_token(client, f"/account/orders/{number}")
    url = f"/account/orders/{number}/designs/{round_id}"
    html = client.post(
        url, data={"csrf_token": token, "decision": "changes", "comment": ""}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Tell us what you would like changed." in html
    html = client.post(
        url,
        data={"csrf_token": token, "decision": "changes", "comment": "Add <b>pearls</b>"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "will send a new version" in html
    assert "Add &lt;b&gt;pearls&lt;/b&gt;" in html  # kept, shown escaped
    with app.app_context():
        design_round = db.session.get(DesignRound, round_id)
        assert design_round.decision == "changes_requested"
        assert design_round.decided_by_id == atelier.customer_id


def test_other_customers_and_strangers_get_404(app, client, atelier, custom):
    number, _, round_id, file_id = custom
    assert client.get(f"/account/orders/{number}/design-files/{file_id}").status_code == 404
    login(client, "cy@example.com", PASSWORD)
    assert client.get(f"/account/orders/{number}/design-files/{file_id}").status_code == 404
    token = csrf_token(client, "/account")
    response = client.post(
        f"/account/orders/{number}/designs/{round_id}",
        data={"csrf_token": token, "decision": "approve"},
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(DesignRound, round_id).decision is None


def test_guest_with_the_signed_link_can_answer(app, client, atelier):
    with app.app_context():
        owner = checkout.CartOwner(
            guest_items=(checkout.CartItem(atelier.custom_product_id, "yellow-gold", "M", 1),)
        )
        with atomic():
            order = checkout.place_order(
                owner=owner,
                details=checkout.ShippingDetails(
                    email="guest@example.com",
                    name="Gil Guest",
                    address_line1="2 Tiara Row",
                    city="Bath",
                    postal_code="BA1 1AA",
                    country="GB",
                ),
                payment_method="manual",
                policy_accepted=True,
            )
        with atomic():
            checkout.mark_paid(order_id=order.id, reference="t")
        line_id = only_line(order).id
        move(line_id, "cad_design", atelier.artisan_id)
        with atomic():
            design_round = staff.send_design_round(
                order_line_id=line_id,
                kind="cad",
                files=[(png_bytes(), "")],
                message="",
                by_user_id=atelier.artisan_id,
            )
        number, round_id = order.number, design_round.id
        token = checkout.order_link_token(number)
    token_form = csrf_token(client, "/account/login")
    url = f"/account/orders/{number}/designs/{round_id}"
    denied = client.post(url, data={"csrf_token": token_form, "decision": "approve"})
    assert denied.status_code == 404
    response = client.post(
        f"{url}?t={token}", data={"csrf_token": token_form, "decision": "approve"}
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(DesignRound, round_id).decision == "approved"
        assert only_line(checkout.get_order_by_number(number)).stage == "casting"


def test_customer_order_page_shows_qc_report_passport_and_repair_link(app, client, atelier, studio):
    from tests.atelier.builders import give_profile

    number, line_id = studio
    with app.app_context():
        give_profile(atelier.artisan_id, "Mira G.", "mira")  # Theo has no public profile
        for target in ("hand_finishing", "qc"):
            move(line_id, target, atelier.artisan_id)
        qc_pass(line_id, checker_id=atelier.checker_id)
        move(line_id, "packed", atelier.checker_id)
        order = checkout.get_order_by_number(number)
        with atomic():
            staff.ship_order(
                order_id=order.id,
                carrier="DHL",
                tracking_number="1",
                insured_value_minor=None,
                by_user_id=atelier.checker_id,
            )
    login(client, "bea@example.com", PASSWORD)
    html = client.get(f"/account/orders/{number}").get_data(as_text=True)
    assert "Making your piece" in html and "Quality control report" in html
    assert (
        'Made by <a class="artisan-link" href="/atelier/mira">Mira G.</a> · checked by the atelier'
        in html
    )
    assert "Theo" not in html and "Mira Goldsmith" not in html
    assert "certificate of authenticity" in html
    assert f"/account/repairs/new/{line_id}" in html


def test_dashboard_lists_reserved_pieces_and_nearly_sold_out_editions(app, client, atelier):
    from tests.factories import make_product

    with app.app_context():
        make_product("regent-test", edition_size=10, sold=9)
        owner = checkout.CartOwner(user_id=atelier.other_customer_id)
        with atomic():
            checkout.add_to_cart(
                owner=owner,
                product_id=atelier.studio_product_id,
                metal_code="yellow-gold",
                size_code="M",
            )
        with atomic():
            order = checkout.place_order(
                owner=owner,
                details=checkout.ShippingDetails(
                    email="cy@example.com",
                    name="Cy Other",
                    address_line1="3 Orb Lane",
                    city="York",
                    postal_code="YO1 7HH",
                    country="GB",
                ),
                payment_method="manual",
                policy_accepted=True,
            )
        number = order.number
    login(client, "mira@example.org", PASSWORD)
    html = client.get("/staff").get_data(as_text=True)
    assert f'Aurelia Test 01/10\n          · <a href="/staff/orders/{number}">' in html
    assert "Regent Test" in html and "<strong>1</strong> of 10 left" in html
    assert "Consultations today" in html and "None today." in html
