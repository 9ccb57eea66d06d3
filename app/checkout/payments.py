"""Payment provider adapter: the only module in Diadem that imports ``stripe``.

Everything the rest of the app needs from Stripe goes through the small functions below and
comes back as plain dataclasses, so tests can swap this module and a library upgrade touches
one file. Amounts are integer minor units; the caller computes them from the server's frozen
breakdown, never from anything the browser sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import stripe
from flask import current_app

# Card payments only: the Payment Element shows the card form, and PaymentIntents created this
# way behave the same on Stripe and on localstripe (which has no automatic payment methods).
PAYMENT_METHOD_TYPES = ["card"]


class PaymentProviderError(Exception):
    """The provider refused or could not be reached; the message is safe to show people."""


class ProviderUnanswered(PaymentProviderError):
    """No answer came (network, Stripe's own error): the request may or may not have been done;
    asking again with the same idempotency key tells which."""


class InvalidWebhook(Exception):
    """A webhook delivery whose payload or signature does not check out."""


@dataclass(frozen=True)
class IntentInfo:
    id: str
    status: str
    amount_minor: int
    currency: str
    client_secret: str = field(repr=False, default="")


@dataclass(frozen=True)
class RefundInfo:
    id: str
    status: str
    amount_minor: int


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object_id: str
    object_status: str = ""
    amount_minor: int = 0
    currency: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    failure_message: str = ""


def stripe_enabled() -> bool:
    """Card payments are offered only when both keys are configured."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_PUBLISHABLE_KEY"))


def publishable_key() -> str:
    return current_app.config.get("STRIPE_PUBLISHABLE_KEY") or ""


def _client() -> stripe.StripeClient:
    config = current_app.config
    key = config.get("STRIPE_SECRET_KEY")
    if not key:
        raise PaymentProviderError("Card payments are not configured.")
    base = config.get("STRIPE_API_BASE")
    options: dict[str, Any] = {"max_network_retries": 2}
    if base:
        # localstripe (tests, offline development) or another Stripe-compatible endpoint.
        options["base_addresses"] = {"api": base.rstrip("/")}
    return stripe.StripeClient(key, **options)


def _intent(obj: Any) -> IntentInfo:
    return IntentInfo(
        id=obj.id,
        status=obj.status,
        amount_minor=int(obj.amount),
        currency=str(obj.currency).upper(),
        client_secret=obj.client_secret or "",
    )


def _provider_error(exc: stripe.StripeError) -> PaymentProviderError:
    current_app.logger.warning("Stripe error: %s", exc)
    if isinstance(exc, stripe.CardError):
        return PaymentProviderError(exc.user_message or "Your card was declined.")
    if isinstance(exc, stripe.InvalidRequestError) and exc.user_message:
        # Stripe refused the request itself (say, more than is left to refund): its reason.
        return PaymentProviderError(exc.user_message)
    if isinstance(exc, (stripe.APIConnectionError, stripe.APIError)):
        return ProviderUnanswered("The card payment service did not answer; try again shortly.")
    return PaymentProviderError("The card payment service did not answer; try again shortly.")


def create_payment_intent(
    *, amount_minor: int, currency: str, metadata: dict[str, str], idempotency_key: str
) -> IntentInfo:
    """Create a PaymentIntent for exactly this amount; the buyer confirms it in the browser.

    The order number and payment id travel in ``metadata`` (shown in Stripe's dashboard and
    echoed in webhooks, which lets a webhook find its payment even if saving the intent's id
    failed after the call).
    """
    if amount_minor <= 0:
        raise ValueError("A payment must be for a positive amount")
    params: dict[str, Any] = {
        "amount": amount_minor,
        "currency": currency.lower(),
        "payment_method_types": PAYMENT_METHOD_TYPES,
        "metadata": metadata,
    }
    try:
        obj = _client().payment_intents.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as exc:
        raise _provider_error(exc) from exc
    return _intent(obj)


def retrieve_payment_intent(intent_id: str) -> IntentInfo:
    try:
        return _intent(_client().payment_intents.retrieve(intent_id))
    except stripe.StripeError as exc:
        raise _provider_error(exc) from exc


def cancel_payment_intent(intent_id: str) -> bool:
    """Cancel an unpaid PaymentIntent; False if it can no longer be cancelled."""
    try:
        _client().payment_intents.cancel(intent_id)
    except stripe.StripeError as exc:
        current_app.logger.info("PaymentIntent %s not cancelled: %s", intent_id, exc)
        return False
    return True


def refund_payment_intent(
    *, intent_id: str, amount_minor: int, idempotency_key: str, metadata: dict[str, str]
) -> RefundInfo:
    """Refund part or all of a succeeded PaymentIntent."""
    try:
        obj = _client().refunds.create(
            params={"payment_intent": intent_id, "amount": amount_minor, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _provider_error(exc) from exc
    return RefundInfo(id=obj.id, status=obj.status, amount_minor=int(obj.amount))


def parse_webhook(*, payload: bytes, signature_header: str) -> WebhookEvent:
    """Verify a webhook delivery's signature and return the event; InvalidWebhook if bad."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise InvalidWebhook("Webhook secret is not configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidWebhook(str(exc)) from exc
    obj = event.data.object
    error = obj.get("last_payment_error") or {}
    return WebhookEvent(
        id=event.id,
        type=event.type,
        object_id=str(obj.get("id") or ""),
        object_status=str(obj.get("status") or ""),
        amount_minor=int(obj.get("amount") or 0),
        currency=str(obj.get("currency") or "").upper(),
        metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
        failure_message=str(error.get("message") or "")[:500],
    )
