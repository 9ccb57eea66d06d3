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
    assert "UTC" not in html
    assert not ISO_SHOWN.search(html)
    (message,) = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    text = message.get_body(("plain",)).get_content()
    assert re.search(ONE_DAY + r", \d{2}:\d{2} (GMT|BST)", text)
    assert "UTC" not in text
