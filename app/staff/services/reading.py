"""Reading an order's production record: lines, history, rounds, checks, next moves."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.checkout import services as checkout
from app.checkout.models import Order, OrderLine
from app.domain import production
from app.domain.production import Track, Via
from app.extensions import db
from app.provenance import services as provenance
from app.provenance.models import Passport
from app.qc.models import QcCheck
from app.staff.models import DesignRound, PackingRecord, StageTransition
from app.staff.services.common import (
    OrderNotFound,
    track_of,
)
from app.staff.services.quality import line_qc_passed


def get_order(number: str) -> Order:
    order = checkout.get_order_by_number(number)
    if order is None:
        raise OrderNotFound(f"There is no order {number[:20]!r}; check the number.")
    return order


def list_orders(
    *, stage: str | None = None, status: str | None = None, limit: int = 200
) -> list[Order]:
    """Orders for the staff list, newest first, filtered by a line stage or an order status."""
    stmt = db.select(Order).order_by(Order.id.desc())
    if stage:
        stmt = stmt.where(Order.lines.any(OrderLine.stage == stage))
    stmt = stmt.where(Order.status == status if status else Order.status != "draft")
    return list(db.session.execute(stmt.limit(limit)).scalars())


@dataclass(frozen=True)
class LineProduction:
    """One line's production record as staff and the customer see it."""

    line: OrderLine
    track: Track
    transitions: list[StageTransition]
    rounds: list[DesignRound]
    checks: list[QcCheck]
    passport: Passport | None
    qc_passed: bool
    moves: list[production.Transition] = field(default_factory=list)
    packing: PackingRecord | None = None

    @property
    def stage_label(self) -> str:
        return production.stage_label(self.line.stage)

    @property
    def stages(self) -> tuple[str, ...]:
        return production.TRACK_STAGES[self.track]

    @property
    def latest_check(self) -> QcCheck | None:
        return self.checks[-1] if self.checks else None

    def open_round(self, kind: str) -> DesignRound | None:
        for design_round in self.rounds:
            if design_round.kind == kind and design_round.decision is None:
                return design_round
        return None

    def rounds_of(self, kind: str) -> list[DesignRound]:
        return [r for r in self.rounds if r.kind == kind]

    @property
    def awaiting_customer(self) -> DesignRound | None:
        if self.line.stage == "cad_approval":
            return self.open_round("cad")
        if self.line.stage == "proof_approval":
            return self.open_round("proof")
        return None

    @property
    def design_kind_to_send(self) -> str | None:
        """Which design staff can send now: the CAD render or the hand-finish proof."""
        if self.track != Track.CUSTOM:
            return None
        return {"cad_design": "cad", "hand_finishing": "proof"}.get(self.line.stage or "")

    @property
    def can_record_qc(self) -> bool:
        return self.line.stage == "qc"

    @property
    def awaits_balance(self) -> bool:
        return self.track == Track.CUSTOM and self.line.stage == "qc" and self.qc_passed


def _passport_of(line: OrderLine) -> Passport | None:
    if line.piece_id is not None:
        return provenance.find_passport(piece_id=line.piece_id)
    return provenance.find_passport(order_line_id=line.id)


def order_production(order: Order) -> list[LineProduction]:
    """Each line's stage, history, design rounds, QC checks and next moves."""
    line_ids = [line.id for line in order.lines]
    if not line_ids:
        return []
    transitions: dict[int, list[StageTransition]] = {i: [] for i in line_ids}
    for t in db.session.execute(
        db.select(StageTransition)
        .where(StageTransition.order_line_id.in_(line_ids))
        .order_by(StageTransition.id)
    ).scalars():
        transitions[t.order_line_id].append(t)
    rounds: dict[int, list[DesignRound]] = {i: [] for i in line_ids}
    for r in db.session.execute(
        db.select(DesignRound)
        .where(DesignRound.order_line_id.in_(line_ids))
        .order_by(DesignRound.kind, DesignRound.number)
    ).scalars():
        rounds[r.order_line_id].append(r)
    checks: dict[int, list[QcCheck]] = {i: [] for i in line_ids}
    for c in db.session.execute(
        db.select(QcCheck).where(QcCheck.order_line_id.in_(line_ids)).order_by(QcCheck.id)
    ).scalars():
        checks[c.order_line_id].append(c)
    packings = {
        p.order_line_id: p
        for p in db.session.execute(
            db.select(PackingRecord).where(PackingRecord.order_line_id.in_(line_ids))
        ).scalars()
    }
    result = []
    for line in order.lines:
        track = track_of(line)
        result.append(
            LineProduction(
                line=line,
                track=track,
                transitions=transitions[line.id],
                rounds=rounds[line.id],
                checks=checks[line.id],
                passport=_passport_of(line),
                qc_passed=line_qc_passed(line.id) if line.stage else False,
                moves=production.next_transitions(track, line.stage, via=Via.MOVE),
                packing=packings.get(line.id),
            )
        )
    return result


def customer_production(order: Order) -> list[LineProduction]:
    """What the customer's order page shows (the same record; templates pick what to show)."""
    if order.status in ("draft", "awaiting_payment", "payment_failed"):
        return []
    return [p for p in order_production(order) if p.line.stage is not None]
