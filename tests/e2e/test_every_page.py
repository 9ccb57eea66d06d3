"""Every page of the URL map, as a buyer, an account holder and staff, at 360, 390 and 1280 px:
nothing scrolls sideways and axe-core finds no serious or critical violation.

The URL list comes from ``app.url_map``: each GET rule is visited with its parameters filled from
one seeded atelier (tests/e2e/site_world.py), or listed in NOT_PAGES with the reason it is not a
page. A new rule that is neither fails here. Screenshots land in artifacts/screenshots/pages/.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from werkzeug.serving import make_server

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.site_world import (
    ADMIN_EMAIL,
    CUSTOMER_EMAIL,
    SIGN_IN_PASSWORD,
    World,
    build_world,
)

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DIADEM_TEST_DATABASE_URL")),
    reason="layout and accessibility do not depend on the database: swept once, on SQLite",
)

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390, 360)
# axe and screenshots at the two widths the site is designed for; 360 px shares 390's styles
# (the narrowest breakpoint is 600 px), so there only the sideways scroll is measured.
AXE_WIDTHS = (1280, 390)
BLOCKING = {"serious", "critical"}
SHOTS = SCREENSHOTS / "pages"

CARD_PAGE = (
    "card payment: needs a Stripe PaymentIntent and Stripe.js, neither offline here (the card "
    "flows run against localstripe in tests/checkout and tests/repairs)"
)
# GET rules that are not pages a person reads, and why.
NOT_PAGES = {
    "static": "static files",
    "main.favicon": "an icon",
    "main.healthz": "health check for the load balancer (JSON)",
    "main.readyz": "readiness check (JSON)",
    "discovery.robots": "robots.txt (text)",
    "discovery.sitemap_xml": "sitemap (XML)",
    "catalog.product_media": "product pictures (images)",
    "catalog.price_json": "price for the product page's script (JSON)",
    "catalog_products.preview_price": "price for the preview page's script (JSON)",
    "checkout.order_status": "order status for the order page's script (JSON)",
    "checkout.invoice_pdf": "the invoice as a PDF file",
    "checkout.balance_receipt_pdf": "a commission's balance receipt as a PDF file",
    "checkout_staff.document_pdf": "an order's invoice or balance receipt as a PDF file",
    "provenance.certificate_pdf": "the certificate of authenticity as a PDF file",
    "checkout.payment_return": "Stripe's return address: only redirects to the order page",
    "repairs.payment_return": "Stripe's return address: only redirects to the ticket",
    "checkout.pay": CARD_PAGE,
    "repairs.pay": CARD_PAGE,
    "repairs.guest_pay": CARD_PAGE,
    "production.customer_design_file": "a design render or proof (image, PDF or video)",
    "production.customer_packing_photo": "a packing photo (image)",
    "staff.design_file": "a design render or proof (image, PDF or video)",
    "staff.packing_photo": "a packing photo (image)",
    "returns.customer_photo": "a return photo (image)",
    "returns_staff.staff_photo": "a return photo (image)",
    "repairs.customer_photo": "a repair photo (image)",
    "repairs.guest_photo": "a repair photo (image)",
    "repairs_staff.staff_photo": "a repair photo (image)",
    "batches.document": "a batch's assay or sourcing document (file)",
    "booking.lead_time": "lead-time answer for the booking form's script (HTML fragment)",
    "booking.owner_invite": "calendar invite (.ics)",
    "booking.manage_invite": "calendar invite (.ics)",
    "provenance.entry_file": "a passport entry's file (image or PDF)",
    "provenance.qr": "the passport's QR code (PNG)",
    "provenance.public_key": "the signing public key (PEM)",
    "tryon.snapshot_image": "a saved try-on picture (image)",
    "atelier.portrait": "an artisan's portrait (image)",
    "atelier.signature": "an artisan's signature (PNG)",
    "atelier_staff.staff_portrait": "an artisan's portrait (image)",
    "atelier_staff.staff_signature": "an artisan's signature (PNG)",
    "tryon.choose": "the no-JavaScript piece picker's target: redirects to the piece's try-on page",
    "bench.reference_photo": "a hand-finish standard's reference photo (image)",
    "bench.media_file": "a bench photo or clip (image or video)",
    "bench_public.public_media_file": "a bench photo or clip chosen for a passport (media)",
}

# Who opens a page outside /staff (staff pages are opened by an admin, who may see them all).
CUSTOMER_PAGES = {
    "accounts.account",
    "accounts.settings",
    "checkout.list_orders",
    "checkout.complete",
    "returns.request_return",
    "repairs.index",
    "repairs.show",
    "repairs.new_request",
    "booking.my_consultations",
    "booking.show_consultation",
    "tryon.snapshots",
}


@dataclass(frozen=True)
class Visit:
    who: str  # guest, customer or staff
    values: dict = field(default_factory=dict)  # rule parameters beyond the defaults
    query: dict = field(default_factory=dict)


def defaults(world: World) -> dict:
    """Rule parameters by name, from the seeded world."""
    return {
        "slug": world.product_slug,
        "number": world.order_number,
        "line_id": world.order_line_id,
        "ticket_id": world.repair_ticket_id,
        "consultation_id": world.consultation_id,
        "code": world.passport_code,
        "batch_code": world.batch_code,
        "run_id": world.run_id,
        "product_id": world.product_id,
        "metal_code": world.metal_code,
        "check_id": world.qc_check_id,
        "return_id": world.return_id,
        "user_id": world.artisan_user_id,
        "artisan_id": world.artisan_profile_id,
    }


def special_visits(world: World) -> dict[str, list[Visit]]:
    """Pages opened differently from the defaults (another user, a token, another record)."""
    guest_order = {"number": world.guest_order_number}
    return {
        # The guest's order opened from its emailed link, then its invoice (pro-forma) in the
        # same browser; the customer's delivered order, commission and their invoices.
        "checkout.show_order": [
            Visit("guest", guest_order, {"t": world.guest_order_token}),
            Visit("customer"),
            Visit("customer", {"number": world.custom_order_number}),
        ],
        "checkout.invoice": [Visit("guest", guest_order), Visit("customer")],
        "checkout.confirm_email": [Visit("guest", guest_order, {"t": world.guest_confirm_token})],
        "checkout_addresses.change_address": [
            Visit("customer", {"number": world.qc_order_number})  # not shipped yet
        ],
        "checkout.complete": [Visit("customer", {"number": world.draft_order_number})],
        "returns.request_return": [Visit("customer")],
        "accounts.confirm_address": [Visit("guest", {"token": world.account_confirm_token})],
        "accounts.confirm_email_change": [Visit("guest", {"token": world.email_change_token})],
        "accounts.reset_password": [Visit("guest", {"token": world.reset_token})],
        "booking.confirm": [Visit("guest", {"token": world.booking_confirm_token})],
        "booking.manage": [Visit("guest", {"token": world.manage_token})],
        "booking_changes.edit_fit_notes": [Visit("guest", {"token": world.manage_token})],
        "booking_changes.cancel": [Visit("guest", {"token": world.manage_token})],
        "catalog.leave_waitlist": [Visit("guest", {"token": world.waitlist_leave_token})],
        "repairs.guest_new_request": [
            Visit(
                "guest",
                {"number": world.guest_shipped_number, "line_id": world.guest_shipped_line_id},
                {"t": world.guest_shipped_token},
            )
        ],
        "repairs.guest_show": [
            Visit("guest", {"ticket_id": world.guest_ticket_id}, {"t": world.guest_ticket_token})
        ],
        "tryon.show": [Visit("guest", {"slug": world.tryon_slug})],
        "atelier.show": [Visit("guest", {"slug": world.artisan_slug})],
        "staff.show_order": [Visit("staff"), Visit("staff", {"number": world.custom_order_number})],
        "staff.line_qc": [
            Visit("staff", {"number": world.qc_order_number, "line_id": world.qc_line_id})
        ],
        "checkout_staff.revise": [
            Visit("staff", {"number": world.custom_order_number, "line_id": world.custom_line_id})
        ],
        "capacity_staff.edit_policy": [Visit("staff", {"slug": "materials"})],
    }


def page_visits(app, world: World) -> list[tuple[str, str, Visit]]:
    """(endpoint, path with query, visit) for every GET rule that is a page."""
    adapter = app.url_map.bind("localhost")
    values = defaults(world)
    special = special_visits(world)
    visits, unfilled = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
            continue
        who = "staff" if rule.rule.startswith("/staff") else "guest"
        if rule.endpoint in CUSTOMER_PAGES:
            who = "customer"
        for visit in special.get(rule.endpoint, [Visit(who)]):
            arguments = {name: visit.values.get(name, values.get(name)) for name in rule.arguments}
            missing = [name for name, value in arguments.items() if value is None]
            if missing:
                unfilled.append(f"{rule.rule} ({rule.endpoint}): no value for {missing}")
                continue
            path = adapter.build(rule.endpoint, arguments)
            if visit.query:
                path += "?" + urlencode(visit.query)
            visits.append((rule.endpoint, path, visit))
    assert not unfilled, (
        "New GET rules with parameters the page sweep cannot fill: give them seeded values in "
        "tests/e2e/site_world.py, or list them in NOT_PAGES with a reason:\n" + "\n".join(unfilled)
    )
    return visits


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[object, World, str]]:
    """One app, one seeded SQLite database and one live server for the whole sweep."""
    from app import create_app

    root = tmp_path_factory.mktemp("every-page")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'site.sqlite3'}",
            "MEDIA_ROOT": str(root / "media"),
            "MAIL_OUTBOX_DIR": str(root / "outbox"),
            "UPLOADS_ROOT": str(root / "uploads"),
            "PROVENANCE_KEY_PATH": str(root / "provenance.pem"),
            "MAIL_TRANSPORT": "outbox",
            "RATELIMIT_ENABLED": False,  # one browser opens a hundred pages in a minute
            "RATELIMIT_STORAGE_URI": "memory://",
            "REDIS_URL": None,
            "PAGE_CACHE_SECONDS": 0,
        }
    )
    from app.extensions import db

    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, build_world(app), base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make test` (or `npm ci`) to install axe-core")
    return AXE.read_text()


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/account/login")
    page.fill("#email", email)
    page.fill("#password", SIGN_IN_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "/account/login" not in page.url, f"{email} could not sign in"


def fill_guest_cart(page, base: str, world: World) -> None:
    """A guest with a piece in the cart, so the cart and checkout show what a buyer sees."""
    page.goto(f"{base}/shop/{world.product_slug}")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"{base}/cart")


# The innermost elements that stick out past the right edge: what to fix when a page scrolls.
WIDEST = """() => {
  const edge = window.innerWidth + 1, out = [];
  const sticksOut = (el) => el.getBoundingClientRect().right > edge;
  for (const el of document.querySelectorAll("body *")) {
    if (sticksOut(el) && ![...el.children].some(sticksOut)) {
      const cls = typeof el.className === "string" && el.className.trim()
        ? "." + el.className.trim().split(/\\s+/).join(".") : "";
      out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + cls);
    }
  }
  return out.slice(0, 4);
}"""


def check(page, base: str, name: str, endpoint: str, path: str, who: str, axe: str) -> list[str]:
    """Open the page and check it at each width; return what is wrong."""
    where = f"{endpoint} {path[:60]} as {who}"
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    response = page.goto(base + path)
    if response is None or response.status != 200 or urlsplit(page.url).path != urlsplit(path).path:
        return [f"{where}: {response.status if response else 'no response'} at {page.url}"]
    kind = response.headers.get("content-type", "")
    if not kind.startswith("text/html"):
        return [f"{where}: answers {kind}, not a page (list it in NOT_PAGES with a reason)"]
    page.evaluate(axe)
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        wide, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        if wide > inner:
            problems.append(f"{where} at {width}px: {wide}px wide ({page.evaluate(WIDEST)})")
        if width not in AXE_WIDTHS:
            continue
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        for violation in result["violations"]:
            if violation["impact"] in BLOCKING:
                targets = [", ".join(n["target"]) for n in violation["nodes"][:3]]
                problems.append(
                    f"{where} at {width}px: {violation['impact']} {violation['id']} "
                    f"({violation['help']}) on {targets}"
                )
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    return problems


def test_every_page_fits_phones_and_passes_axe(site, browser):
    app, world, base = site
    axe = axe_source()
    visits = page_visits(app, world)
    shutil.rmtree(SHOTS, ignore_errors=True)  # only this run's pictures
    SHOTS.mkdir(parents=True)
    started = time.monotonic()
    problems = []
    for who, email in (("guest", None), ("customer", CUSTOMER_EMAIL), ("staff", ADMIN_EMAIL)):
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        try:
            if email:
                sign_in(page, base, email)
            else:
                fill_guest_cart(page, base, world)
            for n, (endpoint, path, visit) in enumerate(visits):
                if visit.who == who:
                    name = f"{n:03d}-{endpoint}-{who}"
                    problems += check(page, base, name, endpoint, path, who, axe)
        finally:
            context.close()
    print(f"swept {len(visits)} pages x {len(WIDTHS)} widths in {time.monotonic() - started:.1f}s")
    (SHOTS / "problems.txt").write_text("\n".join(problems))
    assert not problems, (
        f"{len(problems)} problems (a page that answers elsewhere may need another user, in "
        "CUSTOMER_PAGES or special_visits, or a line in NOT_PAGES):\n" + "\n".join(problems)
    )
