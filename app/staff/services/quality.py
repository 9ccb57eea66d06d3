"""QC of order lines: who finished the piece, whether its check passed since it came into QC."""

from __future__ import annotations

from datetime import datetime

from app.bench import gate as bench_gate
from app.checkout.models import OrderLine
from app.domain import production
from app.extensions import db
from app.provenance import services as provenance
from app.qc import services as qc
from app.qc.models import QcCheck
from app.qc.services import QcContext, QcError
from app.staff.models import StageTransition


def line_finisher_id(order_line_id: int) -> int | None:
    """Who signed off the hand finishing most recently (the artisan QC must not be done by)."""
    return db.session.execute(
        db.select(StageTransition.by_user_id)
        .where(
            StageTransition.order_line_id == order_line_id,
            StageTransition.from_stage == "hand_finishing",
        )
        .order_by(StageTransition.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _entered_stage_at(order_line_id: int, stage: str) -> datetime | None:
    return db.session.execute(
        db.select(StageTransition.created_at)
        .where(StageTransition.order_line_id == order_line_id, StageTransition.to_stage == stage)
        .order_by(StageTransition.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def line_qc_passed(order_line_id: int) -> bool:
    """Whether the line's latest QC check passed since it last came into QC (rework resets it)."""
    return qc.passed_since(
        qc.latest_line_check(order_line_id), _entered_stage_at(order_line_id, "qc")
    )


def line_context(order_line_id: int) -> QcContext:
    """The QC context of an order line at the QC stage (opens its passport if need be)."""
    from app.checkout.models import OrderLine

    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise QcError("No such order line.")
    return qc.context_for(
        passport=provenance.passport_for_line(line),
        product=line.product,
        size_code=line.size_code,
        artisan_id=line_finisher_id(line.id),
        order_line_id=line.id,
    )


def record_line_check(
    *,
    order_line_id: int,
    checker_id: int,
    artisan_id: int | None = None,
    stone_tightness: bool,
    solder_integrity: bool,
    hallmark_present: bool,
    measured_mg: int,
    finish_grade: str,
    notes: str = "",
) -> QcCheck:
    """Record the QC check of an order line that is at the QC stage (caller's transaction)."""
    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise QcError("No such order line.")
    if line.stage != "qc":
        raise QcError(
            f"QC is recorded while the piece is at Quality control; it is at "
            f"{production.stage_label(line.stage)}."
        )
    context = line_context(order_line_id)
    override = None
    if _would_pass(
        context, stone_tightness, solder_integrity, hallmark_present, measured_mg, finish_grade
    ):
        try:
            override = bench_gate.require_minimum(order_line_id)
        except bench_gate.BelowBenchMinimum as exc:
            raise QcError(str(exc)) from exc
    check = qc.record_check(
        context=context,
        checker_id=checker_id,
        artisan_id=artisan_id,
        stone_tightness=stone_tightness,
        solder_integrity=solder_integrity,
        hallmark_present=hallmark_present,
        measured_mg=measured_mg,
        finish_grade=finish_grade,
        notes=notes,
    )
    if override is not None and check.passed:
        bench_gate.use_override(override, qc_check_id=check.id)
    return check


def _would_pass(
    context: QcContext,
    stone_tightness: bool,
    solder_integrity: bool,
    hallmark_present: bool,
    measured_mg: int,
    finish_grade: str,
) -> bool:
    """Whether these results pass QC (the bench-time gate applies to passes only)."""
    try:
        return production.QcResult(
            stone_tightness=stone_tightness,
            solder_integrity=solder_integrity,
            hallmark_present=hallmark_present,
            measured_mg=measured_mg,
            expected_mg=context.expected_mg,
            finish_grade=finish_grade,
        ).passed
    except ValueError:
        return False  # record_check refuses the same input with its own message
