"""A staff member takes a paid order through to shipped, in a real browser."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from app.common.mail import read_outbox
from app.extensions import db
from tests.e2e.conftest import screenshot
from tests.staff.builders import PASSWORD, build_atelier, only_line, paid_order, png_bytes

pytestmark = pytest.mark.e2e


@pytest.fixture
def paid(app, tmp_path):
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    with app.app_context():
        atelier = build_atelier()
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        return order.number, only_line(order).id


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/account/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    # Staff land on their dashboard, customers on their account.
    page.wait_for_url(re.compile(r".*/(staff|account)$"))


def sign_out(page) -> None:
    page.click("header form button:has-text('Sign out')")
    page.wait_for_load_state()


def press(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()
    page.wait_for_load_state()


def stage(page) -> str:
    return page.locator("[data-testid=stage]").first.inner_text()


def test_staff_take_a_paid_order_to_shipped(app, paid, live_server, page):
    number, line_id = paid
    base = live_server

    # The artisan starts from the dashboard and finishes the piece.
    sign_in(page, base, "mira@example.org")
    assert page.url.endswith("/staff")  # signing in took the artisan straight there
    assert page.locator("[data-stage=paid]").inner_text() == "1"
    screenshot(page, "staff-1-dashboard")
    page.fill("#number", number)
    page.click("form.lookup button")
    page.wait_for_url(re.compile(rf".*/staff/orders/{number}$"))
    assert stage(page) == "Paid"
    press(page, "Start hand finishing")
    assert stage(page) == "Hand finishing"
    press(page, "Hand finishing done: send to QC")
    assert stage(page) == "Quality control"
    assert page.get_by_role("button", name="Pack", exact=True).is_disabled()
    screenshot(page, "staff-2-order-at-qc")

    # The artisan may not check their own work.
    page.click("text=Record QC check")
    page.check("input[name=stone_tightness][value=pass]")
    page.check("input[name=solder_integrity][value=pass]")
    page.check("input[name=hallmark_present][value=pass]")
    page.fill("#measured_grams", "100.8")
    page.check("input[name=finish_grade][value=A]")
    press(page, "Record the check")
    assert "four-eyes rule" in page.locator("ul.errors").inner_text()
    sign_out(page)

    # A second member of staff checks, packs and ships.
    sign_in(page, base, "theo@example.org")
    page.goto(f"{base}/staff/orders/{number}/lines/{line_id}/qc")
    for name in ("stone_tightness", "solder_integrity", "hallmark_present"):
        page.check(f"input[name={name}][value=pass]")
    page.fill("#measured_grams", "100.8")
    page.check("input[name=finish_grade][value=A]")
    screenshot(page, "staff-3-qc-form")
    press(page, "Record the check")
    assert "QC passed" in page.locator(".flashes").inner_text()
    # The packing ritual: each item ticked as it goes in, then a photo of the packed box.
    photo = [{"name": "box.png", "mimeType": "image/png", "buffer": png_bytes((120, 90))}]
    page.get_by_label("Soft pouch").check()
    page.get_by_label("Photo of the packed piece").set_input_files(files=photo)
    press(page, "Pack")
    assert "still missing: Rigid box with foam supports" in page.locator(".flashes").inner_text()
    assert page.get_by_label("Soft pouch").is_checked()
    for label in (
        "Rigid box with foam supports",
        "Care card signed by the artisan",
        "Certificate of authenticity",
        "Hangtag with the passport QR code",
    ):
        page.get_by_label(label).check()
    page.get_by_label("Photo of the packed piece").set_input_files(files=photo)
    screenshot(page, "staff-3b-packing")
    press(page, "Pack")
    assert stage(page) == "Packed"
    packed = page.get_by_alt_text(re.compile("packed in its box"))
    packed.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=packed.element_handle()
    )
    page.fill("#carrier", "Royal Mail Special Delivery")
    page.fill("#tracking_number", "RM123456785GB")
    press(page, "Ship and email the customer")
    assert stage(page) == "Shipped"
    assert "RM123456785GB" in page.locator("#shipping").inner_text()
    screenshot(page, "staff-4-order-shipped")

    # The passport's QR code on the public page leads back to it, and the chain verifies.
    passport_link = page.locator("a:has-text('public page')").first.get_attribute("href")
    page.goto(f"{base}{passport_link}")
    assert "History verified" in page.locator("[data-chain=ok]").inner_text()
    png = page.request.get(f"{base}{passport_link}/qr.png").body()
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    # The ArUco-based detector: the classic one misses about 1 code in 150 (random passport codes).
    decoded, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    assert decoded.endswith(passport_link)
    screenshot(page, "staff-5-passport")
    page.goto(f"{base}{passport_link}/certificate")
    assert "01/10" in page.locator(".certificate-number").inner_text()
    screenshot(page, "staff-6-certificate")
    sign_out(page)

    # The customer sees the QC report on their order page.
    sign_in(page, base, "bea@example.com")
    page.goto(f"{base}/account/orders/{number}")
    assert "Quality control report" in page.locator("#production").inner_text()
    screenshot(page, "staff-7-customer-order")

    with app.app_context():
        subjects = [m["subject"] for m in read_outbox(app.config["MAIL_OUTBOX_DIR"])]
        assert any("on its way" in s for s in subjects)
        assert db.session is not None


@pytest.fixture
def commission(app, tmp_path):
    from app.common.transactions import atomic
    from app.staff import services as staff

    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    with app.app_context():
        atelier = build_atelier()
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.custom_product_id)
        line_id = only_line(order).id
        with atomic():
            staff.move_line(
                order_line_id=line_id,
                target="cad_design",
                expected_stage="deposit_paid",
                by_user_id=atelier.artisan_id,
            )
        return order.number, line_id


def test_staff_send_a_cad_render_and_the_customer_asks_for_changes(
    app, commission, live_server, page, tmp_path
):
    from tests.staff.builders import png_bytes

    number, line_id = commission
    base = live_server
    render = tmp_path / "render.png"
    render.write_bytes(png_bytes(size=(400, 300), colour="#d4a72c"))

    sign_in(page, base, "mira@example.org")
    page.goto(f"{base}/staff/orders/{number}")
    page.set_input_files(f"#files-{line_id}", str(render))
    page.fill(f"#caption-{line_id}", "Front view")
    page.fill(f"#message-{line_id}", "The arch follows your sketch; the pearls are 8 mm.")
    press(page, "Send for approval")
    assert stage(page) == "CAD render with the customer"
    sign_out(page)

    sign_in(page, base, "bea@example.com")
    page.goto(f"{base}/account/orders/{number}")
    approval = page.locator(".approval")
    assert "Please review: CAD render, round 1" in approval.inner_text()
    assert page.locator(".approval img").evaluate("img => img.naturalWidth") == 400
    screenshot(page, "staff-8-customer-cad-approval")
    page.check("input[name=decision][value=changes]")
    page.fill("textarea[name=comment]", "Could the centre arch be a little taller?")
    press(page, "Send my answer")
    assert "will send a new version" in page.locator(".flashes").inner_text()
    page.click(".rounds summary")
    assert "changes requested" in page.locator(".rounds").inner_text()
    screenshot(page, "staff-9-customer-round-kept")
    with app.app_context():
        from app.checkout.models import OrderLine

        assert db.session.get(OrderLine, line_id).stage == "cad_design"
