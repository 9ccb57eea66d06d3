"""Words that must follow the shop's facts (issue 15 item 8): no "we hold your numbered pieces"
for a commission, no card payment offered when the shop takes no cards, and a try-on estimate
of a head is labelled an estimate wherever it travels."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from flask import render_template

from app.checkout.services.notifications import notify
from app.common.mail import read_outbox
from app.common.transactions import atomic
from tests.checkout.support import add_to_cart, item, make_shop, place

HOLD = "we hold your numbered pieces"


def test_checkout_promises_a_hold_only_for_numbered_pieces(app, client):
    with app.app_context():
        shop = make_shop()
    add_to_cart(client, shop.custom_id)
    commission = client.get("/checkout").get_data(as_text=True)
    assert HOLD not in commission
    assert "your commission starts when the deposit arrives" in commission

    add_to_cart(client, shop.tiara_id)
    assert HOLD in client.get("/checkout").get_data(as_text=True)


def test_the_balance_email_offers_cards_only_when_the_shop_takes_them(app):
    app.config["STRIPE_SECRET_KEY"] = ""
    with app.app_context():
        shop = make_shop()
        order = place(item(shop.custom_id))
        with atomic():
            notify(order, "balance_requested")
    (message,) = [
        m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if "balance" in m["Subject"]
    ]
    text = message.get_body(("plain",)).get_content()
    assert "card" not in text.lower()
    assert "by bank transfer" in text


def _consultation(**fields) -> SimpleNamespace:
    base = {
        "head_circumference_text": "47.6 cm",
        "head_circumference_mm": 476,
        "circumference_unit": "cm",
        "recommended_size": "S",
        "snapshot_id": None,
        "snapshot": None,
        "fit_note_items": lambda: [],
    }
    return SimpleNamespace(**{**base, **fields})


def test_a_try_on_estimate_of_the_head_says_it_is_an_estimate(app):
    snapshot = SimpleNamespace(
        head_circumference_mm=476,
        head_circumference_range_cm=None,
        created_at=datetime(2026, 12, 1, 10),
    )
    with app.test_request_context():
        estimated = render_template(
            "booking/_fit_notes.html",
            consultation=_consultation(snapshot_id=1, snapshot=snapshot),
        )
        measured = render_template(
            "booking/_fit_notes.html",
            consultation=_consultation(head_circumference_mm=560, snapshot_id=1, snapshot=snapshot),
        )
    assert "estimated by the try-on camera" in estimated
    assert "Recommended size (try-on estimate)" in estimated
    assert "estimated by the try-on camera" not in measured
