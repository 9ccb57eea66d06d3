"""QC checks: the checklist per piece, the four-eyes rule and the gate before packing/shipping.

A check is recorded while its piece is at the QC stage, either in production (an order line) or
after a repair (a repair ticket). The artisan is not chosen on the form when the workshop record
already says who finished the piece: it is the person who signed the work off (moved the line out
of hand finishing, or the repair out of the bench), so nobody can check their own work by naming
someone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.catalog.models import FitSize, Product
from app.common.transactions import atomic
from app.domain import production
from app.domain.production import FourEyesViolation, QcResult
from app.extensions import db
from app.provenance import services as provenance
from app.provenance.models import Passport
from app.qc.models import QcCheck


class QcError(Exception):
    """The QC check cannot be recorded; the message says why."""


@dataclass(frozen=True)
class QcContext:
    """What a QC form needs to know about the piece being checked."""

    passport: Passport | None
    expected_mg: int
    artisan: User | None  # who finished the work, when the record knows
    order_line_id: int | None = None
    repair_ticket_id: int | None = None


STAFF_FALLBACK_NAME = "The Diadem atelier"


def display_name(user: User | None) -> str:
    """The name customers see for a member of staff: never their email address or part of it."""
    if user is None:
        return ""
    return user.name.strip() or STAFF_FALLBACK_NAME


def _size_permille(size_code: str | None) -> int:
    if not size_code:
        return 0
    size = db.session.execute(
        db.select(FitSize).where(FitSize.code == size_code)
    ).scalar_one_or_none()
    return size.metal_permille if size else 0


def expected_weight_for(product: Product, size_code: str | None) -> int:
    """The specified metal weight of a product made in a size."""
    return production.expected_weight_mg(product.metal_weight_mg, _size_permille(size_code))


def latest_check(
    *, order_line_id: int | None = None, repair_ticket_id: int | None = None
) -> QcCheck | None:
    """The newest check of an order line or of a repair ticket."""
    if (order_line_id is None) == (repair_ticket_id is None):
        raise ValueError("latest_check needs an order line or a repair ticket")
    where = (
        QcCheck.order_line_id == order_line_id
        if order_line_id is not None
        else QcCheck.repair_ticket_id == repair_ticket_id
    )
    return db.session.execute(
        db.select(QcCheck).where(where).order_by(QcCheck.id.desc()).limit(1)
    ).scalar_one_or_none()


def latest_line_check(order_line_id: int) -> QcCheck | None:
    return latest_check(order_line_id=order_line_id)


def latest_ticket_check(repair_ticket_id: int) -> QcCheck | None:
    return latest_check(repair_ticket_id=repair_ticket_id)


def passed_since(check: QcCheck | None, entered_qc_at: datetime | None) -> bool:
    """Whether ``check`` passed and is no older than the piece's last entry into QC.

    Rework resets QC: a pass from before the piece went back to the bench does not count.
    """
    if check is None or not check.passed:
        return False
    return entered_qc_at is None or check.created_at >= entered_qc_at


def ticket_qc_passed(repair_ticket_id: int, entered_qc_at: datetime | None) -> bool:
    return passed_since(latest_ticket_check(repair_ticket_id), entered_qc_at)


def context_for(
    *,
    passport: Passport | None,
    product: Product,
    size_code: str | None,
    artisan_id: int | None,
    order_line_id: int | None = None,
    repair_ticket_id: int | None = None,
) -> QcContext:
    """The QC context of a piece: its passport, specified weight and who finished it."""
    return QcContext(
        passport=passport,
        expected_mg=expected_weight_for(product, size_code),
        artisan=db.session.get(User, artisan_id) if artisan_id else None,
        order_line_id=order_line_id,
        repair_ticket_id=repair_ticket_id,
    )


def checks_for_line(order_line_id: int) -> list[QcCheck]:
    return list(
        db.session.execute(
            db.select(QcCheck).where(QcCheck.order_line_id == order_line_id).order_by(QcCheck.id)
        ).scalars()
    )


def passport_product(passport: Passport | None) -> Product | None:
    if passport is None:
        return None
    if passport.piece is not None:
        return passport.piece.run.product
    if passport.order_line is not None:
        return passport.order_line.product
    return None


def record_check(
    *,
    context: QcContext,
    checker_id: int,
    artisan_id: int | None,
    stone_tightness: bool,
    solder_integrity: bool,
    hallmark_present: bool,
    measured_mg: int,
    finish_grade: str,
    notes: str = "",
    append_to_passport: bool = True,
) -> QcCheck:
    """Record a filled-in checklist and append its outcome to the passport (in the caller's
    transaction: call it inside ``atomic()``).

    Raises FourEyesViolation when the checker is the artisan, QcError for bad input.
    """
    artisan, checker = _artisan_and_checker(context, artisan_id, checker_id)
    try:
        result = QcResult(
            stone_tightness=stone_tightness,
            solder_integrity=solder_integrity,
            hallmark_present=hallmark_present,
            measured_mg=measured_mg,
            expected_mg=context.expected_mg,
            finish_grade=finish_grade,
        )
    except ValueError as exc:
        raise QcError(str(exc)) from exc
    check = QcCheck(
        passport_id=context.passport.id if context.passport else None,
        order_line_id=context.order_line_id,
        repair_ticket_id=context.repair_ticket_id,
        artisan_id=artisan.id,
        checker_id=checker.id,
        stone_tightness=result.stone_tightness,
        solder_integrity=result.solder_integrity,
        hallmark_present=result.hallmark_present,
        measured_mg=result.measured_mg,
        expected_mg=result.expected_mg,
        tolerance_permille=result.tolerance_permille,
        weight_ok=result.weight_ok,
        finish_grade=result.finish_grade,
        finish_ok=result.finish_ok,
        passed=result.passed,
        notes=notes.strip()[:2000],
    )
    try:
        # A savepoint: a refused insert undoes only itself, never the caller's work.
        with atomic():
            db.session.add(check)
            db.session.flush()
    except IntegrityError as exc:
        # The database's four-eyes CHECK caught what the service should have.
        raise FourEyesViolation("The checker must not be the artisan (four-eyes rule).") from exc
    if context.passport is not None and append_to_passport:
        _append_to_passport(context.passport.id, context, result, artisan, checker)
    return check


def _artisan_and_checker(
    context: QcContext, artisan_id: int | None, checker_id: int
) -> tuple[User, User]:
    """Who made and who checks the piece; the workshop record's artisan wins over the form's."""
    if context.artisan is not None:
        if artisan_id is not None and artisan_id != context.artisan.id:
            raise QcError(
                f"The workshop record says {display_name(context.artisan)} finished this piece; "
                "the check names them as the artisan."
            )
        artisan_id = context.artisan.id
    production.check_four_eyes(artisan_id=artisan_id, checker_id=checker_id)
    artisan = db.session.get(User, artisan_id)
    checker = db.session.get(User, checker_id)
    if artisan is None or not artisan.is_staff:
        raise QcError("The artisan must be a member of the atelier.")
    if checker is None or not checker.is_staff:
        raise QcError("Only atelier staff can check pieces.")
    return artisan, checker


def _append_to_passport(
    passport_id: int, context: QcContext, result: QcResult, artisan: User, checker: User
) -> None:
    verdict = "passed" if result.passed else "failed"
    summary = (
        "Quality control passed: stones, solder, hallmark, weight and finish."
        if result.passed
        else f"Quality control failed: {', '.join(result.failures)}."
    )
    provenance.record_entry(
        passport_id=passport_id,
        kind="qc",
        summary=summary,
        actor=display_name(checker),
        recorded_by_id=checker.id,
        details={
            "result": verdict,
            "artisan": display_name(artisan),
            "checker": display_name(checker),
            # Pages credit people by id, through their published artisan profiles.
            "artisan_id": artisan.id,
            "checker_id": checker.id,
            "items": result.item_results(),
            "measured_mg": result.measured_mg,
            "expected_mg": result.expected_mg,
            "finish_grade": result.finish_grade,
            "context": "repair" if context.repair_ticket_id else "production",
        },
    )


def staff_members() -> list[User]:
    return list(
        db.session.execute(
            db.select(User).where(User.role.in_(("staff", "admin"))).order_by(User.name, User.id)
        ).scalars()
    )


def get_check(check_id: int) -> QcCheck | None:
    return db.session.get(QcCheck, check_id)
