"""The whole life of a sale and its return, in a real browser, as buyer and staff do it.

Buy (with a care plan) -> pay -> produce -> QC -> pack with the checklist -> ship -> deliver ->
request a return -> approve -> receive -> inspect -> refund -> the number is for sale again,
and its passport tells the whole story. Each person has their own browser context, signed in
once; the late order (window closed) is made by the services, as the fixture's only shortcut.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from app.accounts.models import Role
from app.catalog.models import Piece
from app.checkout import services as checkout
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.extensions import db
from app.provenance import services as provenance
from tests.e2e.test_staff import press, sign_in, stage
from tests.returns.conftest import ReturnsAtelier, delivered_order
from tests.staff.builders import build_atelier, make_fast_user, png_bytes

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PLAN = "Five-year repairs"


@pytest.fixture
def atelier(app, tmp_path):
    """Staff, buyers, a studio design with ten free numbers, a care plan, and a late order."""
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    with app.app_context():
        made = build_atelier()
        admin = make_fast_user(email="ada@example.org", name="Ada Admin", role=Role.ADMIN)
        late = delivered_order(ReturnsAtelier(atelier=made, admin_id=admin), days_ago=20)
        with atomic():
            checkout.offer_plan(name=PLAN, years=5, rule="share", amount=800, by_user_id=admin)
        return made, late.number


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


def person(browser, base: str, email: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, email)
    return page


def buy_with_a_care_plan(page, base: str) -> str:
    page.goto(f"{base}/shop/aurelia-test")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart$"))
    page.get_by_role("link", name="Checkout").click()
    page.wait_for_url(re.compile(r"/checkout$"))
    page.get_by_label("Address", exact=True).fill("1 Crown Street")
    page.get_by_label("Town or city").fill("London")
    page.get_by_label("Postcode").fill("E1 6AN")
    page.get_by_label("Country").select_option("GB")
    page.get_by_label(re.compile(rf"{PLAN}: repairs covered for 5 years")).check()
    page.get_by_label("I accept the returns and repairs policy").check()
    shoot(page, "walk-checkout-care-plan", ours=False)  # the address fields are not ours
    page.get_by_role("button", name=re.compile(r"^Place order")).click()
    page.wait_for_url(re.compile(r"/account/orders/DIA-[A-Z0-9]{6}$"))
    assert f"Care plan: {PLAN}" in page.locator(".order-lines").inner_text()
    return page.url.rsplit("/", 1)[1]


def produce_and_ship(artisan, checker, base: str, number: str) -> None:
    artisan.goto(f"{base}/staff/orders/{number}")
    press(artisan, "Start hand finishing")
    press(artisan, "Hand finishing done: send to QC")
    assert stage(artisan) == "Quality control"
    checker.goto(f"{base}/staff/orders/{number}")
    checker.click("text=Record QC check")
    for name in ("stone_tightness", "solder_integrity", "hallmark_present"):
        checker.check(f"input[name={name}][value=pass]")
    checker.fill("#measured_grams", "100.8")
    checker.check("input[name=finish_grade][value=A]")
    press(checker, "Record the check")
    photo = [{"name": "box.png", "mimeType": "image/png", "buffer": png_bytes((120, 90))}]
    for label in (
        "Soft pouch",
        "Rigid box with foam supports",
        "Care card signed by the artisan",
        "Certificate of authenticity",
        "Hangtag with the passport QR code",
    ):
        checker.get_by_label(label).check()
    checker.get_by_label("Photo of the packed piece").set_input_files(files=photo)
    press(checker, "Pack")
    assert stage(checker) == "Packed"
    checker.fill("#carrier", "Royal Mail Special Delivery")
    checker.fill("#tracking_number", "RM123456785GB")
    press(checker, "Ship and email the customer")
    assert stage(checker) == "Shipped"
    checker.fill("#delivered_on", date.today().isoformat())
    checker.fill("#signed_by", "B Buyer")
    press(checker, "Record delivery and email the customer")
    assert "signed for by B Buyer" in checker.locator("#shipping").inner_text()


def ask_to_return(buyer, base: str, number: str, late: str, photo: Path) -> None:
    buyer.goto(f"{base}/account/orders/{late}/return")
    assert (
        "return window closed at the end of" in buyer.get_by_test_id("window-closed").inner_text()
    )
    assert buyer.locator("input[name=lines]").count() == 0
    buyer.goto(f"{base}/account/orders/{number}")
    buyer.get_by_test_id("request-return").click()
    buyer.wait_for_url(re.compile(rf".*/account/orders/{number}/return$"))
    buyer.locator("input[name=lines]").check()
    buyer.get_by_label("It does not fit as I hoped").check()
    buyer.fill("#details", "Lovely, but a size too small.")
    buyer.set_input_files("#photos", str(photo))
    press(buyer, "Ask to return")
    assert "Your return request is with the atelier" in buyer.content()


def take_back(checker, base: str, number: str) -> str:
    checker.goto(f"{base}/staff/orders/{number}")
    assert checker.get_by_test_id("order-returns").is_visible()
    checker.goto(f"{base}/staff/returns")
    checker.get_by_role("link", name=re.compile(r"Request \d+")).click()
    checker.wait_for_load_state()
    press(checker, "Approve the return")
    ra = re.search(r"RA-[A-Z0-9]{6}", checker.content()).group(0)
    press(checker, "Record arrival")
    for label in (
        "Hallmark intact and legible",
        "No damage beyond the reported fault",
        "Stones present and secure",
        "Box, pouch, certificate and hangtag all returned",
    ):
        checker.get_by_label(label).check()
    checker.get_by_label("Pass: back into its edition").check()
    press(checker, "Record the inspection")
    assert "Inspection passed" in checker.content()
    return ra


def test_buy_make_deliver_return_refund_and_sell_again(
    app, atelier, live_server, browser, tmp_path
):
    made, late = atelier
    base = live_server
    buyer = person(browser, base, "bea@example.com")
    admin = person(browser, base, "ada@example.org")
    artisan = person(browser, base, "mira@example.org")
    checker = person(browser, base, "theo@example.org")

    number = buy_with_a_care_plan(buyer, base)
    admin.goto(f"{base}/staff/orders/{number}/payments")
    admin.fill("#reference", "BARCLAYS 0091")
    press(admin, "Mark paid")
    assert admin.locator("[data-order-status]").inner_text() == "Paid"
    produce_and_ship(artisan, checker, base, number)
    with app.app_context():
        line = checkout.get_order_by_number(number).lines[0]
        piece_id, label, ends = line.piece_id, line.piece_label, line.care_plan_ends_on
        code = provenance.find_passport(piece_id=piece_id).code
    buyer.goto(f"{base}/p/{code}/certificate")
    assert f'datetime="{ends.isoformat()}"' in buyer.locator(".certificate-facts").inner_html()
    shoot(buyer, "walk-certificate-care-plan", ours=False)

    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes((120, 90), "gold"))
    ask_to_return(buyer, base, number, late, photo)
    ra = take_back(checker, base, number)
    admin.goto(f"{base}/staff/returns")
    admin.get_by_role("link", name=ra).click()
    admin.wait_for_load_state()
    admin.fill("#bank_reference", "BARCLAYS-REF-4411")
    press(admin, "Refund by bank transfer")
    assert admin.get_by_test_id("return-status").inner_text() == "Refunded"

    # The number is for sale again: the next buyer's cart takes it.
    with app.app_context():
        assert db.session.get(Piece, piece_id).status == "available"
        subjects = [m["Subject"] for m in read_outbox(app.config["MAIL_OUTBOX_DIR"])]
    assert f"We have your return request on Diadem order {number}" in subjects
    assert f"Your Diadem return {ra} is refunded" in subjects
    buyer.goto(f"{base}/shop/aurelia-test")
    free = buyer.locator("p.numbers").inner_text()
    assert label in free and "Edition of 10 · 9 available" in buyer.content()

    # Its passport tells the whole story, in order, and no longer shows the returned plan.
    buyer.goto(f"{base}/p/{code}")
    story = buyer.locator("main").inner_text()
    chapters = [
        "Hand finished",
        "Quality control passed",
        "Left the atelier, insured and signed for",
        "Delivered to its owner, signed for",
        "Returned to the atelier",
        "Return inspection passed",
        "Back in its edition",
    ]
    places = [story.find(words) for words in chapters]
    assert -1 not in places and places == sorted(places), list(zip(chapters, places, strict=True))
    assert "Care plan" not in story
    shoot(buyer, "walk-passport-whole-story", ours=False)
