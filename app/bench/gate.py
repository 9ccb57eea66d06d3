"""The QC time gate: a piece cannot pass QC below its kind's minimum bench time unless an admin
has recorded an override (who, when, why), which one passing check then uses up."""

from __future__ import annotations

from dataclasses import dataclass

from app.bench.models import HandFinishStandard, QcOverride
from app.bench.records import minutes_for_line
from app.bench.standards import BenchError, require_admin, standard_for_kind
from app.checkout.models import OrderLine
from app.extensions import db

MAX_REASON = 2000


class BelowBenchMinimum(BenchError):
    """QC may not pass: the recorded bench time is under the standard and nothing overrides it."""


@dataclass(frozen=True)
class BenchStatus:
    """A line's bench time against its standard, and any unused admin override."""

    standard: HandFinishStandard | None
    minutes: int
    override: QcOverride | None

    @property
    def required(self) -> int:
        return self.standard.min_minutes if self.standard else 0

    @property
    def short(self) -> bool:
        return self.minutes < self.required

    @property
    def may_pass(self) -> bool:
        return not self.short or self.override is not None


def _unused_override(order_line_id: int, *, lock: bool = False) -> QcOverride | None:
    query = (
        db.select(QcOverride)
        .where(QcOverride.order_line_id == order_line_id, QcOverride.qc_check_id.is_(None))
        .order_by(QcOverride.id.desc())
        .limit(1)
    )
    if lock:
        # Two checkers passing at once: the second waits, then finds the override used.
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def status_for_line(order_line_id: int, *, lock: bool = False) -> BenchStatus:
    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise BenchError("No such order line.")
    return BenchStatus(
        standard=standard_for_kind(line.product.kind),
        minutes=minutes_for_line(line.id),
        override=_unused_override(line.id, lock=lock),
    )


def require_minimum(order_line_id: int) -> QcOverride | None:
    """Before a passing check: the override it will use, or BelowBenchMinimum."""
    status = status_for_line(order_line_id, lock=True)
    if not status.may_pass:
        raise BelowBenchMinimum(
            f"QC cannot pass this piece: {status.minutes} of the {status.required} minutes "
            "of hand finishing its standard asks for are recorded at the bench. Record the "
            "remaining bench time, or ask an admin to record an override with a reason."
        )
    return status.override if status.short else None


def use_override(override: QcOverride, *, qc_check_id: int) -> None:
    """Tie an override to the passing check it let through (caller's transaction)."""
    override.qc_check_id = qc_check_id
    db.session.flush()


def record_override(*, order_line_id: int, admin_id: int, reason: str) -> QcOverride:
    """An admin lets QC pass a piece below the bench minimum, saying why. BenchError if refused."""
    require_admin(admin_id)
    reason = reason.strip()
    if not reason:
        raise BenchError("Say why the piece may pass below the minimum bench time.")
    status = status_for_line(order_line_id)
    if not status.short:
        raise BenchError("The bench time meets the standard: no override is needed.")
    if status.override is not None:
        raise BenchError("An override is already recorded and waiting for this piece's QC.")
    override = QcOverride(
        order_line_id=order_line_id,
        admin_id=admin_id,
        reason=reason[:MAX_REASON],
        minutes_recorded=status.minutes,
        minutes_required=status.required,
    )
    db.session.add(override)
    db.session.flush()
    return override


def override_for_check(qc_check_id: int) -> QcOverride | None:
    return db.session.execute(
        db.select(QcOverride).where(QcOverride.qc_check_id == qc_check_id)
    ).scalar_one_or_none()
