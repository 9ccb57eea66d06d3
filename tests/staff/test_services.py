from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from app.checkout import services as checkout
from app.checkout.models import Order, OrderLine
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.production import FourEyesViolation, QcRequired, TransitionRefused
from app.extensions import db
from app.provenance import services as provenance
from app.qc import services as qc
from app.qc.models import QcCheck
from app.staff import services as staff
from app.staff.models import DesignRound, StageTransition
from tests.conftest import POSTGRES_URL
from tests.helpers import race
from tests.staff.builders import (
    only_line,
    pack,
    paid_order,
    png_bytes,
    qc_pass,
    studio_to_packed,
)


def move(line_id, target, by, expected=None):
    if target == "packed":
        return pack(line_id, by, expected)
    with atomic():
        return staff.move_line(
            order_line_id=line_id, target=target, expected_stage=expected, by_user_id=by
        )


@pytest.fixture
def studio_line(app, atelier):
    with app.app_context():
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        return only_line(order).id


def test_studio_piece_from_paid_to_shipped(app, atelier, studio_line):
    a = atelier
    with app.app_context():
        studio_to_packed(a, studio_line)
        line = db.session.get(OrderLine, studio_line)
        assert line.order.status == "in_production"
        with atomic():
            staff.ship_order(
                order_id=line.order_id,
                carrier="Royal Mail Special Delivery",
                tracking_number="RM123456789GB",
                insured_value_minor=250_000,
                by_user_id=a.checker_id,
            )
        db.session.expire_all()
        line = db.session.get(OrderLine, studio_line)
        order = line.order
        assert (line.stage, order.status) == ("shipped", "shipped")
        assert order.tracking_number == "RM123456789GB" and order.insured_value_minor == 250_000
        history = (
            db.session.execute(
                db.select(StageTransition)
                .where(StageTransition.order_line_id == studio_line)
                .order_by(StageTransition.id)
            )
            .scalars()
            .all()
        )
        assert [(t.from_stage, t.to_stage) for t in history] == [
            ("paid", "hand_finishing"),
            ("hand_finishing", "qc"),
            ("qc", "packed"),
            ("packed", "shipped"),
        ]
        assert [t.by_user_id for t in history] == [
            a.artisan_id,
            a.artisan_id,
            a.checker_id,
            a.checker_id,
        ]
        assert all(t.created_at is not None for t in history)
        shipped = [
            m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if "on its way" in m["subject"]
        ]
        assert shipped and "RM123456789GB" in shipped[0].get_body(("plain",)).get_content()
        passport = provenance.find_passport(piece_id=line.piece_id)
        kinds = [e.kind for e in provenance.entries_of(passport.id)]
        assert kinds == ["origin", "step", "qc", "dispatch"]
        assert provenance.verify_passport(passport).ok


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("packed", "cannot go from Paid to Packed. From Paid it can go to: Hand finishing"),
        ("shipped", "cannot go from Paid to Shipped"),
        ("cad_design", "cannot go from Paid to CAD design"),
        ("gilded", "'gilded' is not a stage"),
    ],
)
def test_wrong_moves_are_refused_with_a_message(app, atelier, studio_line, target, message):
    with app.app_context():
        with pytest.raises(TransitionRefused, match=message):
            move(studio_line, target, atelier.artisan_id)
        assert db.session.get(OrderLine, studio_line).stage == "paid"
        assert db.session.execute(db.select(db.func.count(StageTransition.id))).scalar_one() == 0


def test_stale_page_is_refused(app, atelier, studio_line):
    with app.app_context():
        move(studio_line, "hand_finishing", atelier.artisan_id, expected="paid")
        with pytest.raises(TransitionRefused, match="someone moved it meanwhile"):
            move(studio_line, "hand_finishing", atelier.artisan_id, expected="paid")


def test_qc_gate_blocks_packing_and_shipping(app, atelier, studio_line):
    a = atelier
    with app.app_context():
        move(studio_line, "hand_finishing", a.artisan_id)
        move(studio_line, "qc", a.artisan_id)
        with pytest.raises(QcRequired, match="cannot move to Packed until its QC check passes"):
            move(studio_line, "packed", a.checker_id)
        failed = qc_pass(studio_line, checker_id=a.checker_id, passed=False)
        assert not failed.passed
        with pytest.raises(QcRequired):
            move(studio_line, "packed", a.checker_id)
        # Rework: a pass from before the piece went back to the bench does not count.
        qc_pass(studio_line, checker_id=a.checker_id)
        move(studio_line, "hand_finishing", a.checker_id)
        move(studio_line, "qc", a.artisan_id)
        with pytest.raises(QcRequired):
            move(studio_line, "packed", a.checker_id)
        order_id = db.session.get(OrderLine, studio_line).order_id
        with pytest.raises(staff.ShippingError, match="Cannot ship yet"), atomic():
            staff.ship_order(
                order_id=order_id,
                carrier="DHL",
                tracking_number="1",
                insured_value_minor=None,
                by_user_id=a.checker_id,
            )
        qc_pass(studio_line, checker_id=a.checker_id)
        move(studio_line, "packed", a.checker_id)
        assert db.session.get(OrderLine, studio_line).stage == "packed"


def test_weight_out_of_tolerance_fails_qc(app, atelier, studio_line):
    with app.app_context():
        move(studio_line, "hand_finishing", atelier.artisan_id)
        move(studio_line, "qc", atelier.artisan_id)
        check = qc_pass(studio_line, checker_id=atelier.checker_id, measured_mg=104_000)
        assert check.expected_mg == 100_000 and not check.weight_ok and not check.passed


def test_four_eyes_rule_in_the_service(app, atelier, studio_line):
    a = atelier
    with app.app_context():
        move(studio_line, "hand_finishing", a.artisan_id)
        move(studio_line, "qc", a.artisan_id)
        with pytest.raises(FourEyesViolation, match="someone else must check"):
            qc_pass(studio_line, checker_id=a.artisan_id)
        # Naming somebody else as the artisan does not get round the record.
        with pytest.raises(qc.QcError, match="Mira Goldsmith finished this piece"), atomic():
            staff.record_line_check(
                order_line_id=studio_line,
                checker_id=a.artisan_id,
                artisan_id=a.checker_id,
                stone_tightness=True,
                solder_integrity=True,
                hallmark_present=True,
                measured_mg=100_000,
                finish_grade="A",
            )
        assert db.session.execute(db.select(db.func.count(QcCheck.id))).scalar_one() == 0


def test_four_eyes_rule_in_the_database(app, atelier):
    with app.app_context():
        db.session.add(
            QcCheck(
                artisan_id=atelier.artisan_id,
                checker_id=atelier.artisan_id,
                stone_tightness=True,
                solder_integrity=True,
                hallmark_present=True,
                measured_mg=1,
                expected_mg=1,
                tolerance_permille=30,
                weight_ok=True,
                finish_grade="A",
                finish_ok=True,
                passed=True,
            )
        )
        with pytest.raises(IntegrityError, match="four_eyes"):
            db.session.commit()
        db.session.rollback()


def test_a_check_refused_by_the_database_keeps_the_callers_work(
    app, atelier, studio_line, monkeypatch
):
    """The four-eyes CHECK undoes only the check's own savepoint, not the caller's work."""
    from app.domain import production

    a = atelier
    with app.app_context():
        move(studio_line, "hand_finishing", a.artisan_id)
        move(studio_line, "qc", a.artisan_id)
        # Let the artisan through the service's rule, so only the database stops them.
        monkeypatch.setattr(production, "check_four_eyes", lambda **_: None)
        with atomic():
            db.session.add(
                StageTransition(
                    order_line_id=studio_line,
                    from_stage="qc",
                    to_stage="qc",
                    via="move",
                    note="the caller's work",
                )
            )
            with pytest.raises(FourEyesViolation):
                staff.record_line_check(
                    order_line_id=studio_line,
                    checker_id=a.artisan_id,
                    stone_tightness=True,
                    solder_integrity=True,
                    hallmark_present=True,
                    measured_mg=100_500,
                    finish_grade="A",
                )
        db.session.expire_all()
        notes = db.session.execute(db.select(StageTransition.note)).scalars().all()
        assert "the caller's work" in notes
        assert db.session.execute(db.select(db.func.count(QcCheck.id))).scalar_one() == 0


def test_passed_flag_must_match_the_items_in_the_database(app, atelier):
    with app.app_context():
        db.session.add(
            QcCheck(
                artisan_id=atelier.artisan_id,
                checker_id=atelier.checker_id,
                stone_tightness=True,
                solder_integrity=False,
                hallmark_present=True,
                measured_mg=1,
                expected_mg=1,
                tolerance_permille=30,
                weight_ok=True,
                finish_grade="A",
                finish_ok=True,
                passed=True,
            )
        )
        with pytest.raises(IntegrityError, match="passed_means_every_item"):
            db.session.commit()
        db.session.rollback()


def test_qc_only_at_the_qc_stage(app, atelier, studio_line):
    with app.app_context(), pytest.raises(qc.QcError, match="it is at Paid"):
        qc_pass(studio_line, checker_id=atelier.checker_id)


def test_custom_commission_with_two_approval_rounds(app, atelier):
    a = atelier
    with app.app_context():
        order = paid_order(user_id=a.customer_id, product_id=a.custom_product_id)
        line = only_line(order)
        assert (order.status, line.stage) == ("deposit_paid", "deposit_paid")
        move(line.id, "cad_design", a.artisan_id)
        with pytest.raises(TransitionRefused, match="only when staff upload the design"):
            move(line.id, "cad_approval", a.artisan_id)
        with atomic():
            staff.send_design_round(
                order_line_id=line.id,
                kind="cad",
                files=[(png_bytes(), "Front view")],
                message="Here is the first render.",
                by_user_id=a.artisan_id,
            )
        mails = read_outbox(app.config["MAIL_OUTBOX_DIR"])
        assert any("CAD render is ready" in m["subject"] for m in mails)
        first = db.session.execute(db.select(DesignRound)).scalar_one()
        with pytest.raises(staff.DesignError, match="what you would like changed"), atomic():
            staff.decide_design_round(
                order=order,
                round_id=first.id,
                approve=False,
                comment=" ",
                by_user_id=a.customer_id,
            )
        with atomic():
            staff.decide_design_round(
                order=order,
                round_id=first.id,
                approve=False,
                comment="Taller central arch, please.",
                by_user_id=a.customer_id,
            )
        assert only_line(order).stage == "cad_design"
        with atomic():
            second = staff.send_design_round(
                order_line_id=line.id,
                kind="cad",
                files=[(png_bytes(colour="silver"), "")],
                message="Taller arch.",
                by_user_id=a.artisan_id,
            )
        assert second.number == 2
        with pytest.raises(staff.DesignError, match="already answered"), atomic():
            staff.decide_design_round(
                order=order, round_id=first.id, approve=True, comment="", by_user_id=a.customer_id
            )
        with atomic():
            staff.decide_design_round(
                order=order, round_id=second.id, approve=True, comment="", by_user_id=a.customer_id
            )
        assert only_line(order).stage == "casting"
        move(line.id, "hand_finishing", a.artisan_id)
        with atomic():
            proof = staff.send_design_round(
                order_line_id=line.id,
                kind="proof",
                files=[(png_bytes(), "Proof")],
                message="",
                by_user_id=a.artisan_id,
            )
        with atomic():
            staff.decide_design_round(
                order=order,
                round_id=proof.id,
                approve=True,
                comment="Perfect",
                by_user_id=a.customer_id,
            )
        assert only_line(order).stage == "qc"
        qc_pass(line.id, checker_id=a.checker_id, measured_mg=80_000)
        with pytest.raises(TransitionRefused, match="balance of .* is still due"), atomic():
            staff.record_balance_paid(order_line_id=line.id, by_user_id=a.checker_id)
        with atomic():
            checkout.request_balance(order_id=order.id, by_user_id=a.checker_id)
        with atomic():
            checkout.mark_paid(order_id=order.id, by_user_id=a.checker_id, reference="balance")
        with atomic():
            staff.record_balance_paid(order_line_id=line.id, by_user_id=a.checker_id)
        move(line.id, "packed", a.checker_id)
        with atomic():
            staff.ship_order(
                order_id=order.id,
                carrier="FedEx",
                tracking_number="FX1",
                insured_value_minor=None,
                by_user_id=a.checker_id,
            )
        db.session.expire_all()
        order = db.session.get(Order, order.id)
        assert order.status == "shipped" and order.lines[0].stage == "shipped"
        rounds = (
            db.session.execute(
                db.select(DesignRound).order_by(DesignRound.kind, DesignRound.number)
            )
            .scalars()
            .all()
        )
        assert [(r.kind, r.number, r.decision) for r in rounds] == [
            ("cad", 1, "changes_requested"),
            ("cad", 2, "approved"),
            ("proof", 1, "approved"),
        ]
        assert rounds[0].comment == "Taller central arch, please."
        passport = provenance.find_passport(order_line_id=line.id)
        entries = provenance.entries_of(passport.id)
        assert [e.summary for e in entries if e.kind == "step"] == [
            "CAD design completed and approved",
            "Cast and fabricated",
            "Hand finished",
        ]
        assert entries[1].actor == "Mira Goldsmith"  # the designer who sent the approved render
        assert provenance.verify_passport(passport).ok


def test_design_uploads_are_checked(app, atelier):
    a = atelier
    with app.app_context():
        order = paid_order(user_id=a.customer_id, product_id=a.custom_product_id)
        line = only_line(order)
        move(line.id, "cad_design", a.artisan_id)
        with pytest.raises(staff.UploadError), atomic():
            staff.send_design_round(
                order_line_id=line.id,
                kind="cad",
                files=[(b"<svg onload=alert(1)>", "render.png")],
                message="",
                by_user_id=a.artisan_id,
            )
        with pytest.raises(staff.DesignError, match="at least one image"), atomic():
            staff.send_design_round(
                order_line_id=line.id, kind="cad", files=[], message="", by_user_id=a.artisan_id
            )
        assert only_line(order).stage == "cad_design"


def test_design_round_of_another_order_is_refused(app, atelier):
    a = atelier
    with app.app_context():
        mine = paid_order(user_id=a.customer_id, product_id=a.custom_product_id)
        theirs = paid_order(
            user_id=a.other_customer_id, product_id=a.custom_product_id, email="cy@example.com"
        )
        line = only_line(theirs)
        move(line.id, "cad_design", a.artisan_id)
        with atomic():
            design_round = staff.send_design_round(
                order_line_id=line.id,
                kind="cad",
                files=[(png_bytes(), "")],
                message="",
                by_user_id=a.artisan_id,
            )
        with pytest.raises(staff.DesignError, match="no such design"), atomic():
            staff.decide_design_round(
                order=mine, round_id=design_round.id, approve=True, comment="", by_user_id=1
            )


def test_cancelled_order_stops_production(app, atelier, studio_line):
    with app.app_context():
        line = db.session.get(OrderLine, studio_line)
        line.order.status = "refunded"
        db.session.commit()
        with pytest.raises(TransitionRefused, match="production is stopped"):
            move(studio_line, "hand_finishing", atelier.artisan_id)


def test_dashboard_counts(app, atelier, studio_line):
    from app.dashboard import queries as dashboard

    with app.app_context():
        move(studio_line, "hand_finishing", atelier.artisan_id)
        board = dashboard.build()
        counts = {c.stage: c.count for c in board.stage_counts}
        assert counts["hand_finishing"] == 1 and counts["paid"] == 0
        assert [line.id for line, _, _ in board.in_production] == [studio_line]
        assert ("in_production", "In production", 1) in board.status_counts
        # 1 of 10 sold leaves 9: not nearly sold out; selling 8 more leaves 1 (10 %).
        assert board.nearly_sold_out == []


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks are proven on PostgreSQL")
def test_concurrent_moves_of_one_line_apply_once(app, atelier, studio_line):

    def worker(i: int) -> str:
        move(studio_line, "hand_finishing", atelier.artisan_id, expected="paid")
        return "moved"

    outcomes = race(4, worker, app=app, catch=TransitionRefused)
    assert sorted("refused" if isinstance(o, Exception) else o for o in outcomes) == [
        "moved",
        "refused",
        "refused",
        "refused",
    ]
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(StageTransition.id))).scalar_one() == 1
