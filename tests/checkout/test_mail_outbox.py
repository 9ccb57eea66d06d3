"""With the mail server down an order still completes; its email waits in the outbox and leaves
exactly once when the server is back."""

from __future__ import annotations

import socket
from datetime import timedelta

from app.checkout.models import Order, OrderStatus
from app.common.mail import deliver_outbox, read_outbox
from app.common.outbox import OutboxMessage
from app.extensions import db
from tests.checkout.support import add_to_cart, checkout, order_number


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nobody listens once the socket is closed


def point_smtp_at_a_closed_port(app, monkeypatch) -> None:
    # Flask-Mail reads its server when the app is made; the tests' app suppresses sending.
    state = app.extensions["mail"]
    monkeypatch.setattr(state, "server", "127.0.0.1")
    monkeypatch.setattr(state, "port", _closed_port())
    monkeypatch.setattr(state, "suppress", False)
    monkeypatch.setitem(app.config, "MAIL_TRANSPORT", "smtp")


def test_an_order_completes_with_smtp_down_and_its_mail_leaves_once_when_it_is_back(
    app, client, shop, monkeypatch
):
    point_smtp_at_a_closed_port(app, monkeypatch)
    add_to_cart(client, shop.crown_id)
    response = checkout(client)
    assert response.status_code == 302
    number = order_number(response)
    with app.app_context():
        order = db.session.execute(db.select(Order).where(Order.number == number)).scalar_one()
        assert order.status == OrderStatus.AWAITING_PAYMENT
        message = db.session.execute(db.select(OutboxMessage)).scalar_one()
        assert (message.recipient, message.template) == ("bea@example.com", "order_placed")
        assert (message.sent_at, message.attempts) == (None, 1)
        assert "ConnectionRefusedError" in message.last_error
        assert message.next_attempt_at >= message.created_at + timedelta(seconds=60)
        retry_at = message.next_attempt_at
    assert read_outbox(app.config["MAIL_OUTBOX_DIR"]) == []

    monkeypatch.undo()  # the mail server is back (the tests' .eml transport)
    with app.app_context():
        assert deliver_outbox(now=retry_at - timedelta(seconds=1)).sent == 0  # not due yet
        assert deliver_outbox(now=retry_at).sent == 1
        assert deliver_outbox(now=retry_at + timedelta(hours=1)).sent == 0
        message = db.session.execute(db.select(OutboxMessage)).scalar_one()
        assert message.sent_at == retry_at and message.attempts == 2
    [mail] = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert mail["To"] == "bea@example.com" and number in mail["Subject"]
    assert f"Reference: {number}" in mail.get_body(("plain",)).get_content()
