from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import ledger
from app.domain.ledger import GENESIS_HASH, LedgerError, Link, canonical_json, entry_hash

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def build_chain(bodies):
    links, head = [], GENESIS_HASH
    for seq, body in enumerate(bodies, start=1):
        link = ledger.next_link(head, seq, body)
        links.append(link)
        head = link.hash
    return links


def test_canonical_json_sorts_keys_and_is_compact_utf8():
    assert (
        canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()
    )


def test_canonical_json_is_independent_of_key_order():
    assert canonical_json({"x": {"b": 2, "a": 1}, "y": 3}) == canonical_json(
        {"y": 3, "x": {"a": 1, "b": 2}}
    )


@pytest.mark.parametrize(
    "value", [1.5, {"weight": 0.1}, [1, float("nan")], {1: "int key"}, {"when": object()}]
)
def test_canonical_json_refuses_floats_and_odd_types(value):
    with pytest.raises(LedgerError):
        canonical_json(value)


def test_entry_hash_is_sha256_of_the_canonical_envelope():
    body = {"seq": 1, "summary": "Cast in recycled gold"}
    expected = hashlib.sha256(
        b'{"body":{"seq":1,"summary":"Cast in recycled gold"},"prev":"' + b"0" * 64 + b'"}'
    ).hexdigest()
    assert entry_hash(GENESIS_HASH, body) == expected


@given(st.lists(json_values.map(lambda v: {"v": v}), max_size=6))
def test_any_honest_chain_verifies(bodies):
    links = build_chain(bodies)
    report = ledger.verify_chain(links, expected_head=links[-1].hash if links else GENESIS_HASH)
    assert report.ok and report.length == len(bodies)


def test_altered_content_is_named_once():
    links = build_chain([{"seq": n, "summary": f"step {n}"} for n in (1, 2, 3, 4)])
    tampered = list(links)
    tampered[1] = Link(2, links[1].prev_hash, links[1].hash, {"seq": 2, "summary": "forged"})
    report = ledger.verify_chain(tampered, expected_head=links[-1].hash, expected_length=4)
    assert not report.ok
    assert [b.seq for b in report.breaks] == [2]
    assert "content altered" in str(report.breaks[0])


def test_rehashed_forgery_breaks_the_next_link():
    links = build_chain([{"n": 1}, {"n": 2}, {"n": 3}])
    forged = ledger.next_link(links[0].hash, 2, {"n": 200})
    report = ledger.verify_chain([links[0], forged, links[2]])
    assert [b.seq for b in report.breaks] == [3]
    assert "link to entry #2 is broken" in report.breaks[0].reason


def test_removed_middle_entry_is_named():
    links = build_chain([{"n": 1}, {"n": 2}, {"n": 3}])
    report = ledger.verify_chain([links[0], links[2]])
    assert {b.seq for b in report.breaks} == {3}
    assert any("out of sequence" in b.reason for b in report.breaks)


def test_truncation_is_caught_by_the_recorded_head():
    links = build_chain([{"n": 1}, {"n": 2}, {"n": 3}])
    assert ledger.verify_chain(links[:2]).ok  # a chain alone cannot see its missing tail
    report = ledger.verify_chain(links[:2], expected_head=links[2].hash, expected_length=3)
    assert not report.ok and "3 were recorded" in report.breaks[0].reason


def test_empty_chain_head_is_genesis():
    report = ledger.verify_chain([])
    assert report.ok and report.head_hash == GENESIS_HASH
