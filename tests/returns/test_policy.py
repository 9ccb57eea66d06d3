"""The returns policy as pure rules: the window's boundaries, commissions only for faults."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.domain import returns as policy

LONDON = ZoneInfo("Europe/London")
# Delivered 3 March 2026 at 10:00 UTC (10:00 in London): the window's last day is 17 March.
DELIVERED = datetime(2026, 3, 3, 10, 0)


def test_the_window_is_open_through_the_last_day_and_shut_at_midnight_studio_time():
    last_moment = datetime(2026, 3, 17, 23, 59, 59)  # London is on GMT until 29 March
    state = policy.window_state(delivered_at=DELIVERED, now=last_moment, zone=LONDON)
    assert state.open and state.last_day.isoformat() == "2026-03-17"
    after = policy.window_state(
        delivered_at=DELIVERED, now=datetime(2026, 3, 18, 0, 0), zone=LONDON
    )
    assert not after.open
    assert "3 March 2026" in after.message and "17 March 2026" in after.message


def test_the_last_day_is_counted_on_the_studio_calendar():
    # 23:30 UTC on 3 March is already 4 March in Tokyo: the window ends a day later there.
    late = datetime(2026, 3, 3, 23, 30)
    tokyo = policy.window_state(
        delivered_at=late, now=datetime(2026, 3, 18, 12), zone=ZoneInfo("Asia/Tokyo")
    )
    assert tokyo.last_day.isoformat() == "2026-03-18"


def test_before_delivery_the_window_is_closed_and_says_why():
    state = policy.window_state(delivered_at=None, now=DELIVERED, zone=LONDON)
    assert not state.open and state.last_day is None
    assert "once the parcel is delivered" in state.message


def test_studio_pieces_return_for_any_reason():
    for code in policy.REASON_CODES:
        decision = policy.may_return(line_kind=policy.STUDIO, reason_is_fault=policy.is_fault(code))
        assert decision.allowed


def test_a_custom_commission_returns_only_for_a_fault():
    refused = policy.may_return(line_kind=policy.CUSTOM, reason_is_fault=False)
    assert not refused.allowed and refused.reason == policy.POLICY_TEXT[policy.CUSTOM]
    assert policy.may_return(line_kind=policy.CUSTOM, reason_is_fault=True).allowed
    assert policy.is_fault("fault") and policy.is_fault("damaged")
    assert not policy.is_fault("changed_mind") and not policy.is_fault("fit")


def test_unknown_kinds_and_reasons_are_errors():
    with pytest.raises(ValueError):
        policy.may_return(line_kind="rental", reason_is_fault=True)
    with pytest.raises(ValueError):
        policy.is_fault("bored")


def test_a_pass_needs_every_inspection_item():
    assert policy.check_inspection(reversed(policy.INSPECTION_KEYS), passed=True) == (
        policy.INSPECTION_KEYS
    )
    with pytest.raises(policy.InspectionRefused, match="Stones present and secure"):
        policy.check_inspection(
            [k for k in policy.INSPECTION_KEYS if k != "stones_secure"], passed=True
        )
    assert policy.check_inspection(["hallmark_intact"], passed=False) == ("hallmark_intact",)
    with pytest.raises(policy.InspectionRefused):
        policy.check_inspection(["made_up"], passed=False)


def test_the_policy_page_prints_the_rules_the_code_applies(client):
    page = client.get("/policies/returns").get_data(as_text=True)
    for _, text in policy.POLICY_RULES:
        assert text.replace("'", "&#39;") in page
