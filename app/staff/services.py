"""Production of order lines: stage moves, design approval rounds, balance, shipping.

Every stage change is checked against the one transition table (app.domain.production) and
written with a compare-and-set on the line's ``stage`` while the order row is locked, so two
people pressing buttons at once cannot both move the same line; each change is recorded in
``stage_transitions`` with who and when. Locks follow checkout's order: the order row first,
then its lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.checkout import services as checkout
from app.checkout.models import Order, OrderLine
from app.common.mail import send_mail
from app.common.uploads import UploadError, sniff, store_upload
from app.domain import production
from app.domain.clock import utcnow
from app.domain.production import QcRequired, Track, TransitionRefused, Via
from app.extensions import db
from app.provenance import services as provenance
from app.provenance.models import Passport
from app.staff import qc
from app.staff.models import DesignFile, DesignRound, QcCheck, StageTransition

STOPPED_STATUSES = ("draft", "awaiting_payment", "payment_failed", "cancelled", "refunded")
MAX_DESIGN_FILES = 8
# Workshop steps that go into the piece's provenance passport when a line moves on.
PROVENANCE_STEPS: dict[tuple[str, str], str] = {
    ("cad_approval", "casting"): "CAD design completed and approved",
    ("casting", "hand_finishing"): "Cast and fabricated",
    ("hand_finishing", "qc"): "Hand finished",
    ("hand_finishing", "proof_approval"): "Hand finished",
}

__all__ = ["QcRequired", "TransitionRefused", "UploadError"]


class ProductionError(Exception):
    """A production operation cannot be done; the message is for the person who asked."""


class OrderNotFound(ProductionError):
    pass


class DesignError(ProductionError):
    pass


class ShippingError(ProductionError):
    pass


def track_of(line: OrderLine) -> Track:
    return Track.CUSTOM if line.is_custom else Track.STUDIO


# --- reading --------------------------------------------------------------------------------


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
                qc_passed=qc.line_qc_passed(line.id) if line.stage else False,
                moves=production.next_transitions(track, line.stage, via=Via.MOVE),
            )
        )
    return result


def customer_production(order: Order) -> list[LineProduction]:
    """What the customer's order page shows (the same record; templates pick what to show)."""
    if order.status in ("draft", "awaiting_payment", "payment_failed"):
        return []
    return [p for p in order_production(order) if p.line.stage is not None]


# --- moving lines ---------------------------------------------------------------------------


def _lock_line(order_line_id: int) -> tuple[Order, OrderLine]:
    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise OrderNotFound("No such order line.")
    order = db.session.execute(
        db.select(Order)
        .where(Order.id == line.order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    line = db.session.execute(
        db.select(OrderLine)
        .where(OrderLine.id == order_line_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
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
    """Check and apply one stage change on locked rows; the caller commits."""
    if order.status in STOPPED_STATUSES:
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
        track, source, target, via=via, qc_passed=qc.line_qc_passed(line.id)
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
            actor = _actor_for_step(line.id, source or "", by_user_id)
            provenance.record_entry(
                passport_id=passport.id,
                kind="step",
                summary=step,
                actor=actor,
                recorded_by_id=by_user_id if _is_staff(by_user_id) else None,
            )
    return transition


def _is_staff(user_id: int | None) -> bool:
    user = db.session.get(User, user_id) if user_id else None
    return bool(user and user.is_staff)


def _actor_for_step(order_line_id: int, source: str, by_user_id: int | None) -> str:
    """The maker credited for a step: whoever took the line into it (not the customer)."""
    if source == "cad_approval":
        # The designer is who sent the approved render.
        sender = db.session.execute(
            db.select(DesignRound.sent_by_id)
            .where(DesignRound.order_line_id == order_line_id, DesignRound.kind == "cad")
            .order_by(DesignRound.number.desc())
            .limit(1)
        ).scalar_one_or_none()
        return qc.display_name(db.session.get(User, sender)) if sender else ""
    user = db.session.get(User, by_user_id) if by_user_id else None
    return qc.display_name(user) if user and user.is_staff else ""


def _ensure_passport(line: OrderLine) -> None:
    # Opened before the stage change's transaction (it commits on its own).
    provenance.passport_for_line(line)


def _commit_or_rollback() -> None:
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def move_line(
    *,
    order_line_id: int,
    target: str,
    expected_stage: str | None,
    by_user_id: int,
    note: str = "",
) -> OrderLine:
    """A staff move from the table (start finishing, send to QC, pack...); commit.

    Raises TransitionRefused (or QcRequired) with the reason when the table says no.
    """
    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise OrderNotFound("No such order line.")
    if line.stage is not None:
        _ensure_passport(line)
    try:
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
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return line


def record_balance_paid(*, order_line_id: int, by_user_id: int) -> OrderLine:
    """Move a QC-passed commission on once checkout has the balance; refuse while it is due."""
    try:
        order, line = _lock_line(order_line_id)
        if order.outstanding_minor > 0:
            from app.domain.money import Money

            due = Money(order.outstanding_minor, order.currency).format()
            raise TransitionRefused(
                f"The balance of {due} is still due; request it and record the payment first."
            )
        _apply(order, line, "balance_paid", via=Via.PAYMENT, by_user_id=by_user_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return line


# --- design approval rounds -----------------------------------------------------------------

DESIGN_STAGES = {
    "cad": ("cad_design", "cad_approval"),
    "proof": ("hand_finishing", "proof_approval"),
}
DESIGN_NOUNS = {"cad": "CAD render", "proof": "hand-finish proof"}
# Which rounds may carry short videos: the hand-finish proof, not the CAD render.
VIDEO_DESIGN_KINDS = frozenset({"proof"})


def send_design_round(
    *,
    order_line_id: int,
    kind: str,
    files: Sequence[tuple[bytes, str]],
    message: str,
    by_user_id: int,
) -> DesignRound:
    """Upload renders or proof photos/videos for the customer and wait for their decision; commit.

    CAD renders are images or PDF; hand-finish proofs may also be short videos (MP4, MOV, WebM).
    """
    if kind not in DESIGN_STAGES:
        raise DesignError("Send either the CAD render or the hand-finish proof.")
    allow_video = kind in VIDEO_DESIGN_KINDS
    if not files:
        what = "photo or video" if allow_video else "image"
        raise DesignError(f"Attach at least one {what} of the {DESIGN_NOUNS[kind]}.")
    if len(files) > MAX_DESIGN_FILES:
        raise DesignError(f"Attach at most {MAX_DESIGN_FILES} files per round.")
    for data, _ in files:
        # every file is checked before any is stored
        sniff(data, allow_pdf=True, allow_video=allow_video)
    source, target = DESIGN_STAGES[kind]
    line = db.session.get(OrderLine, order_line_id)
    if line is None:
        raise OrderNotFound("No such order line.")
    _ensure_passport(line)
    try:
        order, line = _lock_line(order_line_id)
        _apply(
            order, line, target, via=Via.DESIGN_UPLOAD, by_user_id=by_user_id, expected_stage=source
        )
        number = (
            db.session.execute(
                db.select(db.func.max(DesignRound.number)).where(
                    DesignRound.order_line_id == line.id, DesignRound.kind == kind
                )
            ).scalar_one_or_none()
            or 0
        ) + 1
        design_round = DesignRound(
            order_line_id=line.id,
            kind=kind,
            number=number,
            message=message.strip()[:4000],
            sent_by_id=by_user_id,
        )
        for data, caption in files:
            stored = store_upload(data, folder="designs", allow_pdf=True, allow_video=allow_video)
            design_round.files.append(
                DesignFile(
                    upload_name=stored.name,
                    content_type=stored.content_type,
                    caption=(caption or DESIGN_NOUNS[kind]).strip()[:200],
                )
            )
        db.session.add(design_round)
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise DesignError("A round is already waiting for the customer; reload the page.") from exc
    except Exception:
        db.session.rollback()
        raise
    _notify_design(order, design_round)
    return design_round


def _notify_design(order: Order, design_round: DesignRound) -> None:
    try:
        send_mail(
            to=order.email,
            subject=f"Your {DESIGN_NOUNS[design_round.kind]} is ready to approve ({order.number})",
            template="design_ready",
            order=order,
            design_round=design_round,
            noun=DESIGN_NOUNS[design_round.kind],
            link=checkout.order_url(order),
        )
    except Exception:  # the round stands and shows on the order page even if mail failed
        current_app.logger.exception("Could not send the design email for %s", order.number)


def decide_design_round(
    *,
    order: Order,
    round_id: int,
    approve: bool,
    comment: str,
    by_user_id: int | None,
) -> DesignRound:
    """The customer approves the round or asks for changes (with a comment); commit.

    ``order`` must already be checked as the customer's (or a valid guest link's).
    """
    design_round = db.session.get(DesignRound, round_id)
    line_ids = {line.id for line in order.lines}
    if design_round is None or design_round.order_line_id not in line_ids:
        raise DesignError("There is no such design on this order.")
    comment = comment.strip()
    if not approve and not comment:
        raise DesignError("Tell us what you would like changed.")
    try:
        locked_order, line = _lock_line(design_round.order_line_id)
        design_round = db.session.execute(
            db.select(DesignRound)
            .where(DesignRound.id == round_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        if design_round.decision is not None:
            raise DesignError("You have already answered this round; thank you.")
        awaiting, after_approval = {
            "cad": ("cad_approval", "casting"),
            "proof": ("proof_approval", "qc"),
        }[design_round.kind]
        back = DESIGN_STAGES[design_round.kind][0]
        target = after_approval if approve else back
        _apply(
            locked_order,
            line,
            target,
            via=Via.CUSTOMER_DECISION,
            by_user_id=by_user_id,
            expected_stage=awaiting,
            note=comment,
        )
        design_round.decision = "approved" if approve else "changes_requested"
        design_round.comment = comment[:4000]
        design_round.decided_by_id = by_user_id
        design_round.decided_at = utcnow()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return design_round


def design_file_for(*, order: Order, file_id: int) -> DesignFile:
    """A design file of this order (the caller has checked who may see the order)."""
    design_file = db.session.get(DesignFile, file_id)
    line_ids = {line.id for line in order.lines}
    if design_file is None or design_file.round.order_line_id not in line_ids:
        raise DesignError("No such file.")
    return design_file


# --- shipping -------------------------------------------------------------------------------


def ship_order(
    *,
    order_id: int,
    carrier: str,
    tracking_number: str,
    insured_value_minor: int | None,
    by_user_id: int,
) -> Order:
    """Ship every line once each is packed with a passing QC, then hand over to checkout.

    The stage changes, the passports' dispatch entries and checkout's status change and email
    (``mark_shipped``) are one transaction: if checkout refuses (balance due...), nothing moves.
    """
    if not carrier.strip() or not tracking_number.strip():
        raise ShippingError("Give the carrier and the tracking number.")
    if insured_value_minor is not None and insured_value_minor < 0:
        raise ShippingError("The insured value cannot be negative.")
    order = db.session.get(Order, order_id)
    if order is None:
        raise OrderNotFound("No such order.")
    for line in order.lines:
        if line.stage is not None:
            _ensure_passport(line)
    try:
        order = db.session.execute(
            db.select(Order)
            .where(Order.id == order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        lines = list(
            db.session.execute(
                db.select(OrderLine)
                .where(OrderLine.order_id == order_id)
                .order_by(OrderLine.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).scalars()
        )
        if not lines:
            raise ShippingError("This order has nothing to ship.")
        # Check every line before changing any, so the message lists all that block shipping.
        problems = []
        for line in lines:
            try:
                production.check_transition(
                    track_of(line),
                    line.stage,
                    "shipped",
                    via=Via.SHIPMENT,
                    qc_passed=qc.line_qc_passed(line.id),
                )
            except TransitionRefused as exc:
                problems.append(f"{line.product_name} {line.piece_label}".strip() + f": {exc}")
        if problems:
            raise ShippingError("Cannot ship yet. " + " ".join(problems))
        for line in lines:
            _apply(order, line, "shipped", via=Via.SHIPMENT, by_user_id=by_user_id)
            passport = _passport_of(line)
            if passport is not None:
                provenance.record_entry(
                    passport_id=passport.id,
                    kind="dispatch",
                    summary="Left the atelier, insured and signed for.",
                    actor=qc.display_name(db.session.get(User, by_user_id)),
                    recorded_by_id=by_user_id,
                )
        if insured_value_minor is not None:
            order.insured_value_minor = insured_value_minor
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
    try:
        # Checkout locks the same order row again (already ours), sets the status, commits
        # everything above with it, and emails the buyer the tracking number.
        return checkout.mark_shipped(
            order_id=order_id,
            carrier=carrier,
            tracking_number=tracking_number,
            by_user_id=by_user_id,
        )
    except checkout.CheckoutError as exc:
        db.session.rollback()
        raise ShippingError(str(exc)) from exc


def default_insured_value(order: Order) -> int:
    """What to insure the parcel for when staff leave it as it is: the goods' value."""
    return order.insured_value_minor or order.goods_minor


# --- the dashboard --------------------------------------------------------------------------


@dataclass(frozen=True)
class StageCount:
    stage: str
    label: str
    count: int


def stage_counts() -> list[StageCount]:
    rows = dict(
        db.session.execute(
            db.select(OrderLine.stage, db.func.count(OrderLine.id))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.stage.is_not(None), Order.status.not_in(STOPPED_STATUSES))
            .group_by(OrderLine.stage)
        ).all()
    )
    return [
        StageCount(stage=s, label=production.stage_label(s), count=rows.get(s, 0))
        for s in production.PRODUCTION_STAGES
    ]


def status_counts() -> list[tuple[str, str, int]]:
    from app.checkout.models import STATUS_LABELS

    rows = db.session.execute(
        db.select(Order.status, db.func.count(Order.id)).group_by(Order.status)
    ).all()
    counts = dict(rows)
    return [(s, STATUS_LABELS.get(s, s), counts[s]) for s in STATUS_LABELS if counts.get(s)]


def lines_in_production(limit: int = 100) -> list[tuple[OrderLine, Order, datetime | None]]:
    """Lines being worked on, oldest stage change first, with when they entered their stage."""
    entered = (
        db.select(
            StageTransition.order_line_id, db.func.max(StageTransition.created_at).label("at")
        )
        .group_by(StageTransition.order_line_id)
        .subquery()
    )
    rows = db.session.execute(
        db.select(OrderLine, Order, entered.c.at)
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(entered, entered.c.order_line_id == OrderLine.id)
        .where(
            OrderLine.stage.is_not(None),
            OrderLine.stage != "shipped",
            Order.status.not_in(STOPPED_STATUSES),
        )
        .order_by(db.func.coalesce(entered.c.at, Order.paid_at), OrderLine.id)
        .limit(limit)
    ).all()
    return [(line, order, at) for line, order, at in rows]
