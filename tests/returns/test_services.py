"""The return lifecycle: request, approve, receive, inspect, refund; the piece and its passport."""

from __future__ import annotations

import pytest

from app.catalog.models import Piece
from app.checkout import services as checkout
from app.checkout.models import Order
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.extensions import db
from app.provenance import services as provenance
from app.returns import services
from app.returns.models import ReturnRequest
from tests.returns.conftest import delivered_order
from tests.staff.builders import only_line, png_bytes


def _request(order: Order, *, reason: str = "changed_mind", photos=()) -> ReturnRequest:
    with atomic():
        return services.request_return(
            order=order,
            line_ids=[line.id for line in order.lines],
            reason=reason,
            details="Not quite me.",
            photos=list(photos),
            by_user_id=order.user_id,
        )


def _through_receipt(order: Order, staff_id: int) -> int:
    made = _request(order)
    with atomic():
        approved = services.approve_return(return_id=made.id, by_user_id=staff_id)
    assert approved.ra_number.startswith("RA-") and len(approved.ra_number) == 9
    with atomic():
        services.receive_return(return_id=made.id, by_user_id=staff_id)
    return made.id


def _inspect(return_id: int, staff_id: int, *, passed: bool) -> None:
    from app.domain.returns import INSPECTION_KEYS

    with atomic():
        services.inspect_return(
            return_id=return_id,
            items=INSPECTION_KEYS if passed else ["hallmark_intact"],
            passed=passed,
            notes="" if passed else "Stone chipped, not reported.",
            by_user_id=staff_id,
        )


def _passport_events(piece_id: int) -> list[tuple[str, str]]:
    passport = provenance.find_passport(piece_id=piece_id)
    return [
        (entry.kind, (entry.details or {}).get("event", ""))
        for entry in provenance.entries_of(passport.id)
    ]


def test_a_passed_return_is_refunded_and_the_number_goes_back_into_its_edition(app_ctx, shop):
    staff_id = shop.atelier.checker_id
    order = delivered_order(shop)
    line = only_line(order)
    piece_id = line.piece_id
    assert db.session.get(Piece, piece_id).status == "sold"
    return_id = _through_receipt(order, staff_id)
    _inspect(return_id, staff_id, passed=True)
    piece = db.session.get(Piece, piece_id)
    assert (piece.status, piece.reserved_until) == ("available", None)
    assert only_line(order).piece_released_at is not None  # the old line lets go of the number
    with atomic():
        done = services.refund_return(
            return_id=return_id, by_user_id=shop.admin_id, bank_reference="BANK-991"
        )
    assert done.status == "refunded" and done.refund_method == "bank"
    order = db.session.get(Order, order.id)
    assert order.refunded_minor == line.total_minor
    assert done.refunded_minor == line.total_minor
    events = _passport_events(piece_id)
    tail = [e for e in events if e[1]]
    assert tail == [("note", "returned"), ("qc", "inspected"), ("note", "restocked")]
    assert events[0][0] == "origin"  # the piece's earlier history stays in front
    subjects = [m["Subject"] for m in read_outbox(app_ctx.config["MAIL_OUTBOX_DIR"])]
    assert f"Your Diadem return {done.ra_number}: how to send it back" in subjects
    assert f"Your Diadem return {done.ra_number} is refunded" in subjects
    # One refund email, the return's (checkout's own "A refund on your order" is not sent too).
    assert not any(s.startswith("A refund on your Diadem order") for s in subjects)


def test_the_restocked_number_can_be_sold_again_and_keeps_its_history(app_ctx, shop):
    staff_id = shop.atelier.checker_id
    order = delivered_order(shop)
    piece_id = only_line(order).piece_id
    return_id = _through_receipt(order, staff_id)
    _inspect(return_id, staff_id, passed=True)
    # Nine other pieces are free: the next buyer takes the lowest, which is this one (01).
    again = delivered_order(shop, user_id=shop.atelier.other_customer_id)
    assert only_line(again).piece_id == piece_id
    passport = provenance.find_passport(piece_id=piece_id)
    summaries = [e.summary for e in provenance.entries_of(passport.id)]
    assert any("Returned to the atelier" in s for s in summaries)
    assert any(s.startswith("Back in its edition") for s in summaries)


def test_a_failed_inspection_withholds_the_piece(app_ctx, shop):
    staff_id = shop.atelier.checker_id
    order = delivered_order(shop)
    piece_id = only_line(order).piece_id
    return_id = _through_receipt(order, staff_id)
    _inspect(return_id, staff_id, passed=False)
    assert db.session.get(Piece, piece_id).status == "withheld"
    tail = [e for e in _passport_events(piece_id) if e[1]]
    assert tail == [("note", "returned"), ("qc", "inspected"), ("note", "withheld")]
    assert services.get_return(return_id).lines[0].outcome == "withheld"


def test_a_failed_inspection_needs_a_note_and_a_pass_needs_every_item(app_ctx, shop):
    staff_id = shop.atelier.checker_id
    return_id = _through_receipt(delivered_order(shop), staff_id)
    with pytest.raises(services.ReturnError, match="notes"), atomic():
        services.inspect_return(
            return_id=return_id, items=[], passed=False, notes=" ", by_user_id=staff_id
        )
    with pytest.raises(services.ReturnError, match="every item"), atomic():
        services.inspect_return(
            return_id=return_id, items=["hallmark_intact"], passed=True, notes="", by_user_id=1
        )
    assert services.get_return(return_id).status == "received"


def test_steps_happen_in_order_and_once(app_ctx, shop):
    staff_id = shop.atelier.checker_id
    made = _request(delivered_order(shop))
    with pytest.raises(services.ReturnError, match="cannot be received"), atomic():
        services.receive_return(return_id=made.id, by_user_id=staff_id)
    with pytest.raises(services.ReturnError, match="cannot be refunded"), atomic():
        services.refund_return(return_id=made.id, by_user_id=shop.admin_id, bank_reference="X")
    with atomic():
        services.approve_return(return_id=made.id, by_user_id=staff_id)
    with pytest.raises(services.ReturnError, match="cannot be approved"), atomic():
        services.approve_return(return_id=made.id, by_user_id=staff_id)


def test_a_bank_refund_needs_its_reference_and_stays_within_the_value(app_ctx, shop):
    staff_id = shop.atelier.checker_id
    order = delivered_order(shop)
    return_id = _through_receipt(order, staff_id)
    _inspect(return_id, staff_id, passed=True)
    with pytest.raises(services.ReturnError, match="reference"), atomic():
        services.refund_return(return_id=return_id, by_user_id=shop.admin_id)
    too_much = only_line(order).total_minor + 1
    with pytest.raises(services.ReturnError, match="at most"), atomic():
        services.refund_return(
            return_id=return_id, by_user_id=shop.admin_id, amount_minor=too_much, bank_reference="B"
        )
    with atomic():
        services.refund_return(
            return_id=return_id, by_user_id=shop.admin_id, amount_minor=1000, bank_reference="B"
        )
    assert db.session.get(Order, order.id).refunded_minor == 1000


def test_one_live_return_per_line_and_a_refused_line_may_be_asked_again(app_ctx, shop):
    order = delivered_order(shop)
    made = _request(order)
    with pytest.raises(services.ReturnError, match="already be on a return"), atomic():
        _request(order)
    with atomic():
        services.refuse_return(return_id=made.id, reason="Worn, per photos.", by_user_id=1)
    again = _request(order, photos=[png_bytes()])
    assert again.status == "requested" and len(again.photos) == 1
    subjects = [m["Subject"] for m in read_outbox(app_ctx.config["MAIL_OUTBOX_DIR"])]
    assert f"About your return request on Diadem order {order.number}" in subjects


def test_the_unique_index_holds_without_the_python_check(app_ctx, shop):
    from sqlalchemy.exc import IntegrityError

    from app.returns.models import ReturnLine

    order = delivered_order(shop)
    line = only_line(order)
    _request(order)
    with pytest.raises(IntegrityError), atomic():
        second = ReturnRequest(order_id=order.id, reason="fit")
        second.lines.append(ReturnLine(order_line_id=line.id, amount_minor=1))
        db.session.add(second)


def test_a_commission_returns_only_for_a_fault(app_ctx, shop):
    order = delivered_order(shop, custom=True)
    with pytest.raises(services.ReturnError, match="made to your measurements"), atomic():
        _request(order, reason="changed_mind")
    made = _request(order, reason="fault")
    assert made.status == "requested"


def test_outside_the_window_nothing_is_recorded(app_ctx, shop):
    late = delivered_order(shop, days_ago=20)
    with pytest.raises(services.WindowClosed, match="return window closed"), atomic():
        _request(late)
    assert services.returns_for_order(late.id) == []


def test_photos_are_checked_by_content_and_stored_without_metadata(app_ctx, shop):
    from app.common.uploads import UploadError

    order = delivered_order(shop)
    with pytest.raises(UploadError), atomic():
        _request(order, photos=[b"GIF89a not really a photo"])
    assert services.returns_for_order(order.id) == []
    made = _request(order, photos=[_jpeg_with_exif()])
    from app.common.storage import uploads_storage

    stored = uploads_storage().read(made.photos[0].upload)
    assert b"Exif" not in stored[:200] and made.photos[0].content_type == "image/jpeg"


def _jpeg_with_exif() -> bytes:
    import io

    from PIL import Image

    image = Image.new("RGB", (40, 30), "gold")
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    data = buffer.getvalue()
    assert b"Exif" in data[:200]
    return data


def test_the_refund_goes_through_checkout(app_ctx, shop):
    staff_id = shop.atelier.checker_id
    order = delivered_order(shop)
    return_id = _through_receipt(order, staff_id)
    _inspect(return_id, staff_id, passed=True)
    with atomic():
        done = services.refund_return(
            return_id=return_id, by_user_id=shop.admin_id, bank_reference="R1"
        )
    [refund] = checkout.get_order_by_number(order.number).refunds
    assert done.refund_ids == [refund.id] and refund.reason.startswith(f"Return {done.ra_number}")


def test_the_buyer_is_told_their_request_arrived_in_text_and_html(app_ctx, shop):
    order = delivered_order(shop)
    _request(order, reason="fit")
    [mail] = [
        m
        for m in read_outbox(app_ctx.config["MAIL_OUTBOX_DIR"])
        if m["Subject"] == f"We have your return request on Diadem order {order.number}"
    ]
    assert mail["To"] == order.email
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    line = only_line(order)
    for part in (text, html):
        assert line.product_name in part and line.piece_label in part
        assert "It does not fit as I hoped" in part and "do not send anything yet" in part
        assert f"http://diadem.test/account/orders/{order.number}/return" in part
