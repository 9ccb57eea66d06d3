"""The order lifecycle: statuses, the actions that move an order, and the one transition table.

``TRANSITIONS`` maps ``(status, action)`` to the next status. Checkout is the only feature that
applies it (``app.checkout.services``: ``start_production()``, ``mark_shipped()`` ...); other
features ask checkout, never assign ``order.status`` themselves. Conditions that depend on more
than the status (is anything still due, did the reservation lapse, is a refund pending) are
checked by checkout before it asks the table; the table answers only "may an order in this
status take this action, and where does it go".

No status is final in the strict sense: a lapsed reservation (``cancelled``) can be paid or
retried, a refunded order can still be cancelled to return its pieces to sale, and a delivered
order can be refunded. ``RESTING`` are the statuses an order may end its life in.
"""

from __future__ import annotations

import enum


class OrderStatus(enum.StrEnum):
    DRAFT = "draft"  # a custom order prepared from a consultation; the buyer completes checkout
    AWAITING_PAYMENT = "awaiting_payment"  # placed; studio pieces reserved until reserved_until
    PAYMENT_FAILED = "payment_failed"  # the card was declined; pieces released (may retry)
    PAID = "paid"  # everything due so far is paid
    DEPOSIT_PAID = "deposit_paid"  # a commission's deposit is paid; the balance comes later
    IN_PRODUCTION = "in_production"  # the atelier is working on it
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"  # by staff, or the reservation expired unpaid (cancel_reason says)
    REFUNDED = "refunded"  # everything paid was refunded


class OrderAction(enum.StrEnum):
    COMPLETE_DRAFT = "complete_draft"  # the buyer completes a draft's checkout
    PAYMENT_FAILED = "payment_failed"  # the card of the current attempt was declined
    RETRY = "retry"  # the buyer pays again after a decline or a lapsed reservation
    DEPOSIT_RECEIVED = "deposit_received"  # the first payment of a commission with a balance
    PAID_IN_FULL = "paid_in_full"  # the first payment covers everything
    BALANCE_RECEIVED = "balance_received"  # a commission's balance arrives
    START_PRODUCTION = "start_production"  # the first production step after payment
    SHIP = "ship"  # carrier and tracking recorded (again: the tracking is corrected)
    DELIVER = "deliver"
    CANCEL = "cancel"  # staff cancel, the buyer abandons a card checkout, or a late payment
    EXPIRE = "expire"  # the reservation lapsed unpaid
    REFUND_ALL = "refund_all"  # refunds now cover everything paid


S, E = OrderStatus, OrderAction

# Where a first payment may arrive: while awaiting it, after a decline, or after the reservation
# lapsed (checkout re-secures the pieces or refunds the late payment).
_FIRST_PAYMENT_FROM = (S.AWAITING_PAYMENT, S.PAYMENT_FAILED, S.CANCELLED)
_HOLDS_MONEY = (S.PAID, S.DEPOSIT_PAID, S.IN_PRODUCTION, S.SHIPPED, S.DELIVERED)

TRANSITIONS: dict[tuple[OrderStatus, OrderAction], OrderStatus] = {
    (S.DRAFT, E.COMPLETE_DRAFT): S.AWAITING_PAYMENT,
    (S.AWAITING_PAYMENT, E.PAYMENT_FAILED): S.PAYMENT_FAILED,
    (S.PAYMENT_FAILED, E.RETRY): S.AWAITING_PAYMENT,
    (S.CANCELLED, E.RETRY): S.AWAITING_PAYMENT,
    **{(status, E.DEPOSIT_RECEIVED): S.DEPOSIT_PAID for status in _FIRST_PAYMENT_FROM},
    **{(status, E.PAID_IN_FULL): S.PAID for status in _FIRST_PAYMENT_FROM},
    (S.DEPOSIT_PAID, E.BALANCE_RECEIVED): S.PAID,
    (S.IN_PRODUCTION, E.BALANCE_RECEIVED): S.IN_PRODUCTION,
    (S.PAID, E.START_PRODUCTION): S.IN_PRODUCTION,
    (S.DEPOSIT_PAID, E.START_PRODUCTION): S.IN_PRODUCTION,
    (S.PAID, E.SHIP): S.SHIPPED,
    (S.IN_PRODUCTION, E.SHIP): S.SHIPPED,
    (S.SHIPPED, E.SHIP): S.SHIPPED,
    (S.SHIPPED, E.DELIVER): S.DELIVERED,
    (S.AWAITING_PAYMENT, E.EXPIRE): S.CANCELLED,
    **{
        (status, E.CANCEL): S.CANCELLED
        for status in (
            S.DRAFT,
            S.AWAITING_PAYMENT,
            S.PAYMENT_FAILED,
            S.PAID,
            S.DEPOSIT_PAID,
            S.IN_PRODUCTION,
            S.REFUNDED,
        )
    },
    **{
        (status, E.REFUND_ALL): S.REFUNDED
        for status in (*_HOLDS_MONEY, S.AWAITING_PAYMENT, S.PAYMENT_FAILED, S.CANCELLED)
    },
}

STARTING: frozenset[OrderStatus] = frozenset({S.DRAFT, S.AWAITING_PAYMENT})
RESTING: frozenset[OrderStatus] = frozenset({S.DELIVERED, S.CANCELLED, S.REFUNDED})
# Production is stopped (no stage may move) while an order is in one of these.
PRODUCTION_STOPPED: frozenset[OrderStatus] = frozenset(
    {S.DRAFT, S.AWAITING_PAYMENT, S.PAYMENT_FAILED, S.CANCELLED, S.REFUNDED}
)

LABELS: dict[OrderStatus, str] = {
    S.DRAFT: "Draft — waiting for you to complete checkout",
    S.AWAITING_PAYMENT: "Awaiting payment",
    S.PAYMENT_FAILED: "Payment failed",
    S.PAID: "Paid",
    S.DEPOSIT_PAID: "Deposit paid",
    S.IN_PRODUCTION: "In production",
    S.SHIPPED: "Shipped",
    S.DELIVERED: "Delivered",
    S.CANCELLED: "Cancelled",
    S.REFUNDED: "Refunded",
}


class InvalidOrderTransition(ValueError):
    """The order's status does not take this action."""

    def __init__(self, status: OrderStatus, action: OrderAction) -> None:
        super().__init__(f"A {LABELS[status].lower()} order cannot take '{action.value}'.")
        self.status, self.action = status, action


def can(status: str, action: OrderAction) -> bool:
    """Whether an order in ``status`` may take ``action``."""
    return (OrderStatus(status), action) in TRANSITIONS


def next_status(status: str, action: OrderAction) -> OrderStatus:
    """The status after ``action``; raise InvalidOrderTransition if the table has no such move."""
    current = OrderStatus(status)
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise InvalidOrderTransition(current, action) from None
