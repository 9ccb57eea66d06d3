"""Checkout's errors; each message is for people."""

from __future__ import annotations


class CheckoutError(Exception):
    """Base of the checkout's errors; the message is for people."""


class CartError(CheckoutError):
    pass


class SoldOut(CheckoutError):
    pass


class OrderNotFound(CheckoutError):
    pass


class InvalidTransition(CheckoutError):
    """The order is not in a state where this can be done."""


class PaymentError(CheckoutError):
    pass


class RefundError(CheckoutError):
    pass


class RevisionError(CheckoutError):
    pass


class WebhookRejected(CheckoutError):
    pass
