"""Design approval rounds: CAD renders and hand-finish proofs the customer decides on."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from app.checkout import services as checkout
from app.checkout.models import Order, OrderLine
from app.common.locks import lock_row
from app.common.mail import send_mail_after_commit
from app.common.transactions import atomic
from app.common.uploads import sniff, store_upload
from app.domain.clock import utcnow
from app.domain.production import Via
from app.extensions import db
from app.staff.models import DesignFile, DesignRound
from app.staff.services.common import (
    MAX_DESIGN_FILES,
    DesignError,
    OrderNotFound,
)
from app.staff.services.moves import _apply, _ensure_passport, _lock_line

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
    """Upload renders or proof photos/videos for the customer and wait for their decision.

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
    order, line = _lock_line(order_line_id)
    _apply(order, line, target, via=Via.DESIGN_UPLOAD, by_user_id=by_user_id, expected_stage=source)
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
    try:
        # A savepoint: the open-round index refusing this insert is reported, not a crash.
        with atomic():
            db.session.add(design_round)
            db.session.flush()
    except IntegrityError as exc:
        raise DesignError("A round is already waiting for the customer; reload the page.") from exc
    _notify_design(order, design_round)
    return design_round


def _notify_design(order: Order, design_round: DesignRound) -> None:
    # After the commit; the round stands and shows on the order page even if mail fails.
    send_mail_after_commit(
        to=order.email,
        subject=f"Your {DESIGN_NOUNS[design_round.kind]} is ready to approve ({order.number})",
        template="design_ready",
        order=order,
        design_round=design_round,
        noun=DESIGN_NOUNS[design_round.kind],
        link=checkout.order_url(order),
    )


def decide_design_round(
    *,
    order: Order,
    round_id: int,
    approve: bool,
    comment: str,
    by_user_id: int | None,
) -> DesignRound:
    """The customer approves the round or asks for changes (with a comment).

    ``order`` must already be checked as the customer's (or a valid guest link's).
    """
    design_round = db.session.get(DesignRound, round_id)
    line_ids = {line.id for line in order.lines}
    if design_round is None or design_round.order_line_id not in line_ids:
        raise DesignError("There is no such design on this order.")
    comment = comment.strip()
    if not approve and not comment:
        raise DesignError("Tell us what you would like changed.")
    locked_order, line = _lock_line(design_round.order_line_id)
    design_round = lock_row(DesignRound, round_id)
    if design_round is None:
        raise DesignError("There is no such design on this order.")
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
    return design_round


def design_file_for(*, order: Order, file_id: int) -> DesignFile:
    """A design file of this order (the caller has checked who may see the order)."""
    design_file = db.session.get(DesignFile, file_id)
    line_ids = {line.id for line in order.lines}
    if design_file is None or design_file.round.order_line_id not in line_ids:
        raise DesignError("No such file.")
    return design_file
