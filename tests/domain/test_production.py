from __future__ import annotations

import pytest

from app.domain import production as p
from app.domain.production import (
    QcRequired,
    QcResult,
    Track,
    TransitionRefused,
    Via,
    check_transition,
)

HAPPY_PATHS = {
    Track.STUDIO: ["paid", "hand_finishing", "qc", "packed", "shipped"],
    Track.CUSTOM: [
        "deposit_paid",
        "cad_design",
        "cad_approval",
        "casting",
        "hand_finishing",
        "proof_approval",
        "qc",
        "balance_paid",
        "packed",
        "shipped",
    ],
    Track.REPAIR: ["received", "assessed", "quote_sent", "approved", "in_repair", "qc", "returned"],
}


@pytest.mark.parametrize("track", list(HAPPY_PATHS))
def test_happy_path_is_in_the_table(track):
    stages = HAPPY_PATHS[track]
    for source, target in zip(stages, stages[1:], strict=False):
        transition = next(
            t for t in p.TRANSITIONS if (t.track, t.source, t.target) == (track, source, target)
        )
        assert (
            check_transition(track, source, target, via=transition.via, qc_passed=True)
            is transition
        )


def test_table_has_no_duplicates_and_only_known_stages():
    keys = [(t.track, t.source, t.target) for t in p.TRANSITIONS]
    assert len(keys) == len(set(keys))
    for t in p.TRANSITIONS:
        assert t.source in p.TRACK_STAGES[t.track] and t.target in p.TRACK_STAGES[t.track]
        assert t.source not in p.FINAL_STAGES


def test_every_stage_is_reachable_from_the_start():
    for track, stages in p.TRACK_STAGES.items():
        reached, frontier = {p.INITIAL_STAGE[track]}, [p.INITIAL_STAGE[track]]
        while frontier:
            for t in p.next_transitions(track, frontier.pop()):
                if t.target not in reached:
                    reached.add(t.target)
                    frontier.append(t.target)
        assert reached == set(stages), track


@pytest.mark.parametrize(
    ("track", "source", "target", "via", "message"),
    [
        (Track.STUDIO, "paid", "shipped", Via.SHIPMENT, "From Paid it can go to: Hand finishing"),
        (Track.STUDIO, "paid", "cad_design", Via.MOVE, "cannot go from Paid to CAD design"),
        (Track.STUDIO, "shipped", "paid", Via.MOVE, "Shipped is the last stage"),
        (Track.STUDIO, "qc", "qc", Via.MOVE, "already at Quality control"),
        (Track.STUDIO, "qc", "gilded", Via.MOVE, "'gilded' is not a stage"),
        (Track.CUSTOM, "cad_design", "cad_approval", Via.MOVE, "upload the design"),
        (Track.CUSTOM, "cad_approval", "casting", Via.MOVE, "the customer approves"),
        (Track.CUSTOM, "qc", "balance_paid", Via.MOVE, "payment is recorded"),
        (Track.STUDIO, "packed", "shipped", Via.MOVE, "shipping form"),
        (Track.CUSTOM, None, "cad_design", Via.MOVE, "payment has not been recorded"),
        ("gold", "paid", "qc", Via.MOVE, "Unknown production track"),
    ],
)
def test_refusals_say_why(track, source, target, via, message):
    with pytest.raises(TransitionRefused, match=message):
        check_transition(track, source, target, via=via, qc_passed=True)


@pytest.mark.parametrize(
    ("track", "source", "target", "via"),
    [
        (Track.STUDIO, "qc", "packed", Via.MOVE),
        (Track.STUDIO, "packed", "shipped", Via.SHIPMENT),
        (Track.CUSTOM, "qc", "balance_paid", Via.PAYMENT),
        (Track.CUSTOM, "balance_paid", "packed", Via.MOVE),
        (Track.CUSTOM, "packed", "shipped", Via.SHIPMENT),
        (Track.REPAIR, "qc", "returned", Via.MOVE),
    ],
)
def test_qc_gate(track, source, target, via):
    with pytest.raises(QcRequired, match="until its QC check passes"):
        check_transition(track, source, target, via=via, qc_passed=False)
    assert check_transition(track, source, target, via=via, qc_passed=True).target == target


def test_only_packing_shipping_balance_and_return_need_qc():
    gated = {(t.track, t.target) for t in p.TRANSITIONS if t.needs_qc}
    assert {target for _, target in gated} == {"packed", "shipped", "balance_paid", "returned"}


def test_declined_repair_returns_without_qc():
    assert check_transition(Track.REPAIR, "declined", "returned", via=Via.MOVE).target == "returned"


def test_four_eyes():
    p.check_four_eyes(artisan_id=1, checker_id=2)
    with pytest.raises(p.FourEyesViolation, match="someone else must check"):
        p.check_four_eyes(artisan_id=3, checker_id=3)
    with pytest.raises(p.FourEyesViolation, match="Name the artisan"):
        p.check_four_eyes(artisan_id=None, checker_id=3)


def result(**overrides):
    values = dict(
        stone_tightness=True,
        solder_integrity=True,
        hallmark_present=True,
        measured_mg=100_000,
        expected_mg=100_000,
        finish_grade="A",
    )
    values.update(overrides)
    return QcResult(**values)


def test_qc_result_passes_only_when_every_item_passes():
    assert result().passed and result().failures == []
    assert result(finish_grade="B").passed
    failing = result(hallmark_present=False, finish_grade="C")
    assert not failing.passed
    assert failing.failures == ["Hallmark present", "Finish grade"]


@pytest.mark.parametrize(
    ("measured", "ok"), [(97_000, True), (103_000, True), (96_999, False), (103_001, False)]
)
def test_weight_tolerance_is_three_percent_inclusive(measured, ok):
    assert result(measured_mg=measured).weight_ok is ok


def test_expected_weight_scales_with_size():
    assert p.expected_weight_mg(100_000, 40) == 104_000
    assert p.expected_weight_mg(123_457, 40) == 128_395  # 4 938.28 mg extra, rounded


@pytest.mark.parametrize(("text", "mg"), [("101.25", 101_250), ("98", 98_000), ("0,5", 500)])
def test_parse_grams(text, mg):
    assert p.parse_grams(text) == mg


@pytest.mark.parametrize("text", ["", "heavy", "-1", "0", "1.0001", "nan", "inf"])
def test_parse_grams_refuses(text):
    with pytest.raises(ValueError):
        p.parse_grams(text)


def test_unknown_finish_grade_refused():
    with pytest.raises(ValueError):
        result(finish_grade="Z")
