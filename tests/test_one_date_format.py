"""Dates and times are written one way everywhere (app.common.dates): no template formats one
by hand, and the pages and emails people read show the studio's time with its zone."""

from __future__ import annotations

import re
from pathlib import Path

from app.common.mail import read_outbox
from tests.checkout.support import item, make_shop, place

TEMPLATES = Path(__file__).resolve().parents[1] / "app" / "templates"
# "2 Dec 2026" or "2 Dec 2026, 13:45 GMT"; never "2026-12-02 13:45" or "02 December 2026".
ONE_DAY = r"\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}"
ISO_SHOWN = re.compile(r">[^<]*\b\d{4}-\d{2}-\d{2}\b[^<]*<")


def test_no_template_formats_a_date_by_hand():
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*"))
        if path.suffix in (".html", ".txt")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ".strftime(" in line
    ]
    assert offenders == []


def test_no_template_prints_a_stored_date_or_instant_raw():
    # {{ order.placed_at }} would print "2026-12-02 13:45:00" in UTC: every one goes through
    # a filter (|day, |when, |clock, |relative, |iso) or arrives already formatted.
    raw = re.compile(r"\{\{\s*[\w.]+\.\w+_(at|date|on|until)\s*\}\}")
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*"))
        if path.suffix in (".html", ".txt")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if raw.search(line)
    ]
    assert offenders == []


def _without_links(page: str) -> str:
    """The words a reader sees: a signed link's random token may spell "UTC" by chance."""
    return re.sub(r"https?://[^\s\"'<]+|\?[^\s\"'<]+", "", page)


def test_an_order_page_and_its_email_show_the_studio_time_one_way(app, client):
    with app.app_context():
        shop = make_shop()
        order = place(item(shop.crown_id), email="one@example.com")
        number = order.number
    with client.session_transaction() as session:
        session["guest_orders"] = [number]
    html = client.get(f"/account/orders/{number}").get_data(as_text=True)
    held = re.search(r"held (?:only )?until\s+(.+?)[;.]", html) or re.search(
        r"reserved for you until\s+(.+?)[;.]", html
    )
    assert held, "the order page says until when the pieces are held"
    assert re.fullmatch(ONE_DAY + r", \d{2}:\d{2} (GMT|BST)", held.group(1).strip())
    assert "UTC" not in _without_links(html)
    assert not ISO_SHOWN.search(html)
    (message,) = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    text = message.get_body(("plain",)).get_content()
    assert re.search(ONE_DAY + r", \d{2}:\d{2} (GMT|BST)", text)
    assert "UTC" not in _without_links(text)


# "Tuesday, 30 March 2027, 10:00 BST": a consultation's start, with its weekday.
FULL_WHEN = r"\w+day, \d{1,2} \w+ \d{4}, \d{2}:\d{2}"


def test_a_consultation_states_the_studio_time_and_the_customers_own_one_way(app):
    from tests.booking.test_views import confirm, confirm_link, post, valid_data

    guest = app.test_client()
    held = post(guest, valid_data(guest, tz="Asia/Tokyo"))
    assert held.status_code == 302
    page = confirm(guest, confirm_link(app))
    html = guest.get(page.headers["Location"]).get_data(as_text=True)
    # The flash says both times on one line; the page states each once.
    assert re.search(r"is booked: " + FULL_WHEN + r" (GMT|BST) \(your time: " + FULL_WHEN, html)
    assert re.search(FULL_WHEN + r" (GMT|BST)</strong>", html)
    assert re.search(r"Your time: " + FULL_WHEN + r" Japan Time", html)
    assert not ISO_SHOWN.search(html) and "Asia/Tokyo" not in html
    booked = [m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if "booked" in m["Subject"]]
    text = booked[-1].get_body(("plain",)).get_content()
    assert re.search(r"When: " + FULL_WHEN + r" (GMT|BST)\s+Your time: " + FULL_WHEN, text)
