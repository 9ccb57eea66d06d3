"""A buyer returns a delivered piece and the atelier takes it to a refund, in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.accounts.models import Role
from app.catalog.models import Piece
from app.extensions import db
from app.provenance import services as provenance
from tests.e2e.test_staff import press, sign_in, sign_out
from tests.returns.conftest import ReturnsAtelier, delivered_order
from tests.staff.builders import build_atelier, make_fast_user, only_line, png_bytes

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp/h7")


@pytest.fixture
def delivered(app, tmp_path):
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    with app.app_context():
        atelier = build_atelier()
        admin = make_fast_user(email="ada@example.org", name="Ada Admin", role=Role.ADMIN)
        shop = ReturnsAtelier(atelier=atelier, admin_id=admin)
        late = delivered_order(shop, days_ago=20)
        order = delivered_order(shop)
        return order.number, only_line(order).piece_id, late.number


def shoot(page, name: str, *, ours: bool = True) -> None:
    """Full-page screenshots at phone and desktop widths; nothing may be wider than the phone."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        if width == 390 and ours:  # only our pages: others own theirs
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= 390, f"{name} is {overflow}px wide at 390px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_request_approve_receive_inspect_refund(app, delivered, live_server, page, tmp_path):
    number, piece_id, late = delivered
    base = live_server
    sign_in(page, base, "bea@example.com")
    page.goto(f"{base}/account/orders/{late}/return")
    assert "return window closed at the end of" in page.get_by_test_id("window-closed").inner_text()
    assert page.locator("input[name=lines]").count() == 0
    shoot(page, "return-window-closed")
    page.goto(f"{base}/account/orders/{number}")
    shoot(page, "order-with-return-link", ours=False)
    page.get_by_test_id("request-return").click()
    page.wait_for_url(re.compile(rf".*/account/orders/{number}/return$"))
    shoot(page, "return-request")
    page.locator("input[name=lines]").check()
    page.get_by_label("It does not fit as I hoped").check()
    page.fill("#details", "Lovely, but a size too small.")
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes((120, 90), "gold"))
    page.set_input_files("#photos", str(photo))
    press(page, "Ask to return")
    assert "Your return request is with the atelier" in page.content()
    shoot(page, "return-requested")
    sign_out(page)

    sign_in(page, base, "theo@example.org")
    page.goto(f"{base}/staff/orders/{number}")
    assert page.get_by_test_id("order-returns").is_visible()
    page.goto(f"{base}/staff/returns")
    shoot(page, "staff-returns-list")
    page.get_by_role("link", name=re.compile(r"Request \d+")).click()
    page.wait_for_load_state()
    shoot(page, "staff-return-requested")
    press(page, "Approve the return")
    ra = re.search(r"RA-[A-Z0-9]{6}", page.content()).group(0)
    press(page, "Record arrival")
    for label in (
        "Hallmark intact and legible",
        "No damage beyond the reported fault",
        "Stones present and secure",
        "Box, pouch, certificate and hangtag all returned",
    ):
        page.get_by_label(label).check()
    page.get_by_label("Pass: back into its edition").check()
    shoot(page, "staff-return-inspection")
    press(page, "Record the inspection")
    assert "Inspection passed" in page.content()
    sign_out(page)

    sign_in(page, base, "ada@example.org")
    page.goto(f"{base}/staff/returns")
    page.get_by_role("link", name=ra).click()
    page.wait_for_load_state()
    page.fill("#bank_reference", "BARCLAYS-REF-4411")
    press(page, "Refund by bank transfer")
    assert page.get_by_test_id("return-status").inner_text() == "Refunded"
    shoot(page, "staff-return-refunded")

    with app.app_context():
        assert db.session.get(Piece, piece_id).status == "available"
        code = provenance.find_passport(piece_id=piece_id).code
    page.goto(f"{base}/p/{code}")
    text = page.content()
    assert "Returned to the atelier" in text and "Back in its edition" in text
    shoot(page, "passport-after-return", ours=False)
