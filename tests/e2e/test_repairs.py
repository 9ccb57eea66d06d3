"""A repair walked end to end in a real browser: request, quote, card payment (localstripe and
its signed webhook), the bench, QC, and the piece shipped back with a tracking link."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from app.checkout.models import Order
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from app.provenance import services as provenance
from app.repairs.models import RepairTicket
from app.staff import services as staff
from tests.checkout import conftest as card_fixtures
from tests.checkout.conftest import register_webhook, stripe_api, wait_for
from tests.e2e.test_staff import press, sign_in
from tests.staff.builders import build_atelier, only_line, paid_order, studio_to_packed

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# The checkout tests' fake Stripe (one per session) and the app pointed at it.
localstripe = card_fixtures.localstripe
stripe_app = card_fixtures.stripe_app


@pytest.fixture
def old_piece(stripe_app, tmp_path):
    """Bea's studio piece, shipped three years ago: out of warranty, so a repair is paid for."""
    app = stripe_app
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    with app.app_context():
        atelier = build_atelier()
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        line_id = only_line(order).id
        studio_to_packed(atelier, line_id)
        with atomic():
            staff.ship_order(
                order_id=order.id,
                carrier="DHL",
                tracking_number="1",
                insured_value_minor=None,
                by_user_id=atelier.checker_id,
            )
        with atomic():
            db.session.get(Order, order.id).shipped_at = utcnow() - timedelta(days=3 * 365)
        return line_id


def shoot(page, name: str) -> None:
    """Phone and desktop screenshots; nothing on the page may be wider than the phone."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        if width == 390:
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    page.set_viewport_size({"width": 1280, "height": 900})


def person(browser, base: str, email: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Stripe.js cannot load offline; the test confirms the intent as Stripe.js would.
    context.route("https://js.stripe.com/**", lambda route: route.abort())
    page = context.new_page()
    sign_in(page, base, email)
    return page


def move(page, label: str) -> None:
    press(page, label)
    assert "Ticket moved" in page.locator(".flashes").inner_text()


def test_a_paid_repair_from_request_to_tracking_link(
    stripe_app, localstripe, old_piece, live_server, browser
):
    app, base = stripe_app, live_server
    register_webhook(localstripe, "diadem-repairs", f"{base}/stripe/webhook")
    try:
        _walk(app, base, localstripe, old_piece, browser)
    finally:
        register_webhook(localstripe, "diadem-repairs", "http://127.0.0.1:9/gone")


def _walk(app, base, stripe_url, line_id, browser) -> None:
    bea = person(browser, base, "bea@example.com")
    bea.goto(f"{base}/account/repairs/new/{line_id}")
    bea.fill("#description", "The comb at the back has come loose.")
    press(bea, "Send the request")
    ticket_url = bea.url
    reference = re.search(r"R-[A-Z0-9]{6}", bea.content()).group(0)
    ticket_id = int(ticket_url.rstrip("/").rsplit("/", 1)[1])

    mira = person(browser, base, "mira@example.org")  # the artisan
    staff_url = f"{base}/staff/repairs/{ticket_id}"
    mira.goto(staff_url)
    cover = mira.get_by_test_id("repair-cover").inner_text()
    assert cover.startswith("Not covered: warranty ended") and "quote must be paid" in cover
    mira.fill("#assessment", "Resolder the comb's hinge.")
    press(mira, "Record the assessment")
    mira.fill("#amount", "45.50")
    press(mira, "Send the quote")

    bea.goto(ticket_url)
    bea.get_by_label("Accept the quote").check()
    press(bea, "Send my decision")
    assert reference in bea.get_by_test_id("send-in-reference").inner_text()
    assert bea.get_by_test_id("repair-due").inner_text() == "$45.50"
    shoot(bea, "repair-approved-to-pay")
    bea.get_by_role("link", name="Pay $45.50 by card").click()
    bea.wait_for_load_state()
    secret = bea.locator("#payment-form").get_attribute("data-client-secret")
    intent = secret.split("_secret_")[0]
    shoot(bea, "repair-pay")
    # Start is refused while unpaid: the button says why.
    mira.goto(staff_url)
    assert mira.get_by_role("button", name="Start the repair").is_disabled()
    # What Stripe.js does when Bea submits the card form; localstripe then sends the webhook.
    stripe_api(
        stripe_url, "POST", f"/v1/payment_intents/{intent}", payment_method="pm_card_visa"
    ).raise_for_status()
    stripe_api(stripe_url, "POST", f"/v1/payment_intents/{intent}/confirm").raise_for_status()

    def paid() -> bool:
        with app.app_context():
            return db.session.get(RepairTicket, ticket_id).due_minor == 0

    wait_for(paid)

    mira.goto(staff_url)
    assert mira.get_by_test_id("repair-payment-state").inner_text() == "Paid $45.50."
    move(mira, "Start the repair")
    mira.fill("#work_done", "Resoldered the comb hinge and polished the band.")
    move(mira, "Repair done: send to QC")

    theo = person(browser, base, "theo@example.org")  # the checker: four eyes
    theo.goto(f"{staff_url}/qc")
    for name in ("stone_tightness", "solder_integrity", "hallmark_present"):
        theo.check(f"input[name={name}][value=pass]")
    theo.fill("#measured_grams", "100.2")
    theo.check("input[name=finish_grade][value=A]")
    press(theo, "Record the check")
    theo.fill("#carrier", "Royal Mail Special Delivery")
    theo.fill("#tracking_number", "AB123456789GB")
    shoot(theo, "repair-staff-ship-back")
    press(theo, "Ship and email the tracking link")
    assert "Shipped back" in theo.locator(".flashes").inner_text()

    bea.goto(ticket_url)
    link = bea.get_by_test_id("repair-tracking")
    assert link.inner_text() == "AB123456789GB"
    assert link.get_attribute("href") == (
        "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB"
    )
    shoot(bea, "repair-shipped-back")
    with app.app_context():
        subjects = [m["Subject"] for m in read_outbox(app.config["MAIL_OUTBOX_DIR"])]
        assert f"Payment received for repair {reference}" in subjects
        assert f"Your repaired piece is on its way ({reference})" in subjects
        ticket = db.session.get(RepairTicket, ticket_id)
        kinds = [e.kind for e in provenance.entries_of(ticket.passport_id)]
        assert kinds[-2:] == ["repair", "qc"]
