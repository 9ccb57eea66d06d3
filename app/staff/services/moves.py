"""Moving lines through the production table, one locked compare-and-set at a time."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.checkout import services as checkout
from app.checkout.models import Order, OrderLine
from app.common.locks import lock_row
from app.domain import production
from app.domain.money import Money
from app.domain.orders import PRODUCTION_STOPPED
from app.domain.production import TransitionRefused, Via
from app.extensions import db
from app.provenance import services as provenance
from app.qc import services as qc
from app.staff.models import DesignRound, StageTransition
from app.staff.services.common import (
    PROVENANCE_STEPS,
    OrderNotFound,
    track_of,
)
from app.staff.services.quality import line_qc_passed


def _lock_line(order_line_id: int) -> tuple[Order, OrderLine]:
    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise OrderNotFound("No such order line.")
    order = lock_row(Order, line.order_id)
    line = lock_row(OrderLine, order_line_id)
    if order is None or line is None:
        raise OrderNotFound("No such order line.")
    return order, line


def _apply(
    order: Order,
    line: OrderLine,
    target: str,
    *,
    via: Via,
    by_user_id: int | None,
    expected_stage: str | None = None,
    note: str = "",
) -> production.Transition:
    """Check and apply one stage change on locked rows, in the caller's transaction."""
    if order.status in PRODUCTION_STOPPED:
        raise TransitionRefused(
            f"Order {order.number} is {order.status_label.lower()}; its production is stopped."
        )
    if expected_stage is not None and line.stage != expected_stage:
        raise TransitionRefused(
            f"{line.product_name} is now at {production.stage_label(line.stage)} "
            "(someone moved it meanwhile); reload the page."
        )
    track = track_of(line)
    source = line.stage
    transition = production.check_transition(
        track, source, target, via=via, qc_passed=line_qc_passed(line.id)
    )
    # Compare-and-set: only moves the line if nobody changed its stage since we read it.
    moved = db.session.execute(
        update(OrderLine)
        .where(OrderLine.id == line.id, OrderLine.stage == source)
        .values(stage=target)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise TransitionRefused("Someone moved this line meanwhile; reload the page.")
    set_committed_value(line, "stage", target)
    db.session.add(
        StageTransition(
            order_line_id=line.id,
            from_stage=source,
            to_stage=target,
            via=via.value,
            by_user_id=by_user_id,
            note=note.strip()[:500],
        )
    )
    if target != "shipped":
        checkout.start_production(order)
    step = PROVENANCE_STEPS.get((source or "", target))
    if step:
        passport = provenance.find_passport(
            **({"piece_id": line.piece_id} if line.piece_id else {"order_line_id": line.id})
        )
        if passport is not None:
            maker = _maker_of_step(line.id, source or "", by_user_id)
            provenance.record_entry(
                passport_id=passport.id,
                kind="step",
                summary=step,
                actor=qc.display_name(maker) if maker else "",
                recorded_by_id=by_user_id if _is_staff(by_user_id) else None,
                # Public pages credit the maker's published artisan profile by this id.
                details={"actor_id": maker.id} if maker else None,
            )
    return transition


def _is_staff(user_id: int | None) -> bool:
    user = db.session.get(User, user_id) if user_id else None
    return bool(user and user.is_staff)


def _maker_of_step(order_line_id: int, source: str, by_user_id: int | None) -> User | None:
    """The maker credited for a step: whoever took the line into it (not the customer)."""
    if source == "cad_approval":
        # The designer is who sent the approved render.
        sender = db.session.execute(
            db.select(DesignRound.sent_by_id)
            .where(DesignRound.order_line_id == order_line_id, DesignRound.kind == "cad")
            .order_by(DesignRound.number.desc())
            .limit(1)
        ).scalar_one_or_none()
        return db.session.get(User, sender) if sender else None
    user = db.session.get(User, by_user_id) if by_user_id else None
    return user if user and user.is_staff else None


def _ensure_passport(line: OrderLine) -> None:
    # Opened before the rows are locked (its own savepoint keeps a lost race harmless).
    provenance.passport_for_line(line)


def move_line(
    *,
    order_line_id: int,
    target: str,
    expected_stage: str | None,
    by_user_id: int,
    note: str = "",
) -> OrderLine:
    """A staff move from the table (start finishing, send to QC, pack...).

    Raises TransitionRefused (or QcRequired) with the reason when the table says no.
    """
    if target == "packed":
        raise TransitionRefused(
            "Pack with the packing checklist: tick each item and add a photo of the packed piece."
        )
    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise OrderNotFound("No such order line.")
    if line.stage is not None:
        _ensure_passport(line)
    order, line = _lock_line(order_line_id)
    _apply(
        order,
        line,
        target,
        via=Via.MOVE,
        by_user_id=by_user_id,
        expected_stage=expected_stage,
        note=note,
    )
    return line


def record_balance_paid(*, order_line_id: int, by_user_id: int) -> OrderLine:
    """Move a QC-passed commission on once checkout has the balance; refuse while it is due."""
    order, line = _lock_line(order_line_id)
    if order.outstanding_minor > 0:
        due = Money(order.outstanding_minor, order.currency).format()
        raise TransitionRefused(
            f"The balance of {due} is still due; request it and record the payment first."
        )
    _apply(order, line, "balance_paid", via=Via.PAYMENT, by_user_id=by_user_id)
    return line
