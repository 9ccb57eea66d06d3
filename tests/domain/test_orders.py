"""The order transition table: every status reachable, every status able to come to rest."""

from __future__ import annotations

import pytest

from app.domain import orders
from app.domain.orders import OrderAction, OrderStatus


def _reachable(starts: frozenset[OrderStatus]) -> set[OrderStatus]:
    seen, todo = set(starts), list(starts)
    while todo:
        status = todo.pop()
        for (source, _event), target in orders.TRANSITIONS.items():
            if source == status and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_every_status_is_reachable_from_a_starting_status():
    assert _reachable(orders.STARTING) == set(OrderStatus)


def test_every_status_can_come_to_rest():
    for status in OrderStatus:
        assert _reachable(frozenset({status})) & orders.RESTING, status


def test_every_event_is_used_and_every_status_labelled():
    assert {event for _status, event in orders.TRANSITIONS} == set(OrderAction)
    assert set(orders.LABELS) == set(OrderStatus)


def test_shipped_and_delivered_orders_cannot_be_cancelled():
    for status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        assert not orders.can(status, OrderAction.CANCEL)
        with pytest.raises(orders.InvalidOrderTransition, match="cannot take 'cancel'"):
            orders.next_status(status, OrderAction.CANCEL)


def test_delivered_takes_only_a_refund():
    moves = {event for (status, event) in orders.TRANSITIONS if status == OrderStatus.DELIVERED}
    assert moves == {OrderAction.REFUND_ALL}


def test_a_draft_is_never_paid_directly():
    for event in (OrderAction.PAID_IN_FULL, OrderAction.DEPOSIT_RECEIVED):
        assert not orders.can(OrderStatus.DRAFT, event)
