"""Batches (edition runs): opening with numbered pieces, sourcing, documents, closing, and a close
racing checkout on PostgreSQL."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, text, update

from app import create_app
from app.catalog import batches, reservations
from app.catalog.models import BatchDocument, EditionRun, Piece, Product
from app.checkout import services as checkout
from app.checkout.models import OrderLine
from app.common.storage import media_storage
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from tests.checkout.support import DETAILS, item
from tests.conftest import POSTGRES_URL
from tests.factories import make_product
from tests.test_uploads import mp4_bytes, webm_bytes

STATEMENT = "Recycled 18k gold, refined in Birmingham; lab-grown diamonds."
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _open(product_id: int, code: str = "AUR-YG-2027", size: int = 25, **kw) -> EditionRun:
    fields = dict(
        product_id=product_id,
        metal_code="yellow-gold",
        batch_code=code,
        size=size,
        sourcing_statement=STATEMENT,
        released_on=date(2027, 3, 1),
    )
    fields.update(kw)
    with atomic():
        return batches.open_batch(**fields)


def _statuses(run_id: int) -> dict[int, str]:
    return dict(
        db.session.execute(select(Piece.number, Piece.status).where(Piece.run_id == run_id)).all()
    )


def jpeg_with_exif(size: tuple[int, int] = (40, 20), orientation: int = 6) -> bytes:
    image = Image.new("RGB", size, "gold")
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Industries"  # Make
    exif[0x0131] = "SecretEditor 9"  # Software
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size=(16, 12)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (200, 160, 40, 128)).save(out, format="PNG")
    return out.getvalue()


def _gold_run(product: Product) -> EditionRun:
    (run,) = [r for r in product.runs if r.metal.code == "yellow-gold"]
    return run


@pytest.fixture
def crown(app_ctx) -> Product:
    return make_product("nova-crown", metals=("yellow-gold", "silver"), edition_size=10)


# --- opening -------------------------------------------------------------------------------------


def test_opening_a_batch_numbers_its_pieces_and_keeps_the_statement(crown):
    run = _open(crown.id, size=25)
    assert run.batch_code == "AUR-YG-2027"
    assert run.sourcing_statement == STATEMENT
    assert run.released_on == date(2027, 3, 1) and run.closed_at is None
    assert run.metal.code == "yellow-gold" and run.product_id == crown.id
    assert _statuses(run.id) == {n: "available" for n in range(1, 26)}
    counts = batches.batch_counts(run)
    assert counts == batches.PieceCounts(available=25)
    # The new batch's numbers can be bought at once, after the product's first run.
    assert reservations.free_piece_count(product_id=crown.id, metal_id=run.metal_id) == 35


def test_opening_defaults_the_release_date_to_the_studio_today(crown):
    run = _open(crown.id, released_on=None)
    assert run.released_on == batches.studio_today()


def test_a_silver_batch_of_fifty(crown):
    run = _open(crown.id, code="NOVA-AG-1", size=50, metal_code="silver")
    assert run.metal.code == "silver" and len(_statuses(run.id)) == 50


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size": 30}, "10, 25, 50"),
        ({"batch_code": "AUR YG"}, "letters and digits"),
        ({"batch_code": "AUR_YG"}, "letters and digits"),
        ({"batch_code": "-AUR"}, "letters and digits"),
        ({"batch_code": "AUR--YG"}, "letters and digits"),
        ({"batch_code": "A" * 41}, "at most 40"),
        ({"batch_code": "  "}, "code"),
        ({"sourcing_statement": "   "}, "sourcing statement"),
        ({"metal_code": "platinum"}, "not offered in that metal"),
    ],
)
def test_opening_refuses_what_breaks_the_rules(crown, changes, message):
    with pytest.raises(batches.BatchError, match=message):
        _open(crown.id, **changes)
    assert db.session.execute(select(func.count(EditionRun.id))).scalar_one() == 2


def test_batch_codes_are_unique_whatever_the_case(crown):
    _open(crown.id, code="AUR-YG-2027")
    with pytest.raises(batches.BatchError, match="already used"):
        _open(crown.id, code="aur-yg-2027")
    existing = db.session.execute(select(EditionRun.batch_code)).scalars().all()
    with pytest.raises(batches.BatchError, match="already used"):
        _open(crown.id, code=existing[0])


def test_custom_and_retired_designs_get_no_batch(app_ctx):
    bespoke = make_product("bespoke", tier="custom")
    with pytest.raises(batches.BatchError, match="made to order"):
        _open(bespoke.id)
    retired = make_product("old-crown")
    retired.status = "retired"
    db.session.commit()
    with pytest.raises(batches.BatchError, match="retired"):
        _open(retired.id)
    with pytest.raises(batches.BatchNotFound):
        _open(999_999)
    assert {p.slug for p in batches.studio_products()} == set()


def test_studio_products_lists_the_designs_a_batch_can_be_opened_for(crown):
    make_product("bespoke", tier="custom")
    assert [p.slug for p in batches.studio_products()] == ["nova-crown"]


def test_the_sourcing_statement_can_be_rewritten(crown):
    run = _open(crown.id)
    with atomic():
        batches.set_sourcing_statement(run_id=run.id, sourcing_statement="  Fairmined gold.  ")
    assert db.session.get(EditionRun, run.id).sourcing_statement == "Fairmined gold."
    with pytest.raises(batches.BatchError, match="sourcing statement"), atomic():
        batches.set_sourcing_statement(run_id=run.id, sourcing_statement="")


# --- closing -------------------------------------------------------------------------------------


def test_closing_withholds_the_available_pieces_only(crown):
    run = _open(crown.id, size=10)
    now = utcnow()
    pieces = {p.number: p for p in db.session.get(EditionRun, run.id).pieces}
    pieces[1].status = "sold"
    pieces[2].status, pieces[2].reserved_until = "reserved", now + timedelta(minutes=20)
    # A lapsed hold still sits on an order that may yet be paid: it is not the close's to take.
    pieces[3].status, pieces[3].reserved_until = "reserved", now - timedelta(minutes=5)
    pieces[4].status = "withheld"
    db.session.commit()

    with atomic():
        closed = batches.close_batch(run_id=run.id)
    assert closed.withheld == 6
    statuses = _statuses(run.id)
    assert statuses[1] == "sold" and statuses[2] == "reserved" and statuses[3] == "reserved"
    assert [n for n, s in statuses.items() if s == "withheld"] == [4, 5, 6, 7, 8, 9, 10]
    run = db.session.get(EditionRun, run.id)
    assert run.closed_at is not None
    counts = batches.batch_counts(run)
    # The lapsed hold is neither reserved nor available any more: nothing of a closed batch is.
    assert counts == batches.PieceCounts(sold=1, reserved=1, available=0, withheld=8)
    assert batches.batch_state(run, counts) == "closed"

    with pytest.raises(batches.BatchError, match="already closed"), atomic():
        batches.close_batch(run_id=run.id)


def test_nothing_more_can_be_bought_from_a_closed_batch(crown):
    """Not even a lapsed hold or a piece a cancelled order gave back."""
    with atomic():
        batches.close_batch(run_id=_gold_run(crown).id)
    run = _open(crown.id, size=10)
    pieces = {p.number: p for p in db.session.get(EditionRun, run.id).pieces}
    pieces[1].status, pieces[1].reserved_until = "reserved", utcnow() - timedelta(minutes=5)
    for n in range(2, 11):
        pieces[n].status = "sold"
    db.session.commit()
    with atomic():
        batches.close_batch(run_id=run.id)
    db.session.execute(update(Piece).where(Piece.id == pieces[1].id).values(status="available"))
    db.session.commit()
    metal_id = run.metal_id
    assert reservations.free_piece_count(product_id=crown.id, metal_id=metal_id) == 0
    with atomic():
        claimed = reservations.claim_free_piece(
            product_id=crown.id, metal_id=metal_id, now=utcnow(), until=utcnow()
        )
    assert claimed is None
    with pytest.raises(checkout.SoldOut):
        _place(crown.id)


def test_a_batch_sold_out_is_shown_as_such_until_closed(crown):
    run = _open(crown.id, size=10)
    db.session.execute(update(Piece).where(Piece.run_id == run.id).values(status="sold"))
    db.session.commit()
    (row,) = [r for r in batches.list_batches() if r.run.id == run.id]
    assert row.state == "sold-out" and row.counts.sold == 10
    with atomic():
        assert batches.close_batch(run_id=run.id).withheld == 0
    (row,) = [r for r in batches.list_batches(product_id=crown.id) if r.run.id == run.id]
    assert row.state == "closed"
    # Closed batches are listed after the open ones.
    assert [r.state for r in batches.list_batches()][-1] == "closed"


# --- documents -----------------------------------------------------------------------------------


def _attach(run_id: int, data: bytes, kind: str = "assay", title: str = "Assay report"):
    with atomic():
        return batches.add_document(
            run_id=run_id, kind=kind, title=title, data=data, by_user_id=None
        )


@pytest.mark.parametrize(
    ("kind", "data", "content_type"),
    [
        ("assay", PDF, "application/pdf"),
        ("photo", png(), "image/png"),
        ("video", mp4_bytes(), "video/mp4"),
        ("video", webm_bytes(), "video/webm"),
        ("other", webm_bytes(), "video/webm"),
        ("gem", PDF, "application/pdf"),
    ],
)
def test_documents_are_checked_by_content_and_stored_in_public_media(
    crown, kind, data, content_type
):
    run = _open(crown.id)
    document = _attach(run.id, data, kind=kind)
    assert document.content_type == content_type and document.kind == kind
    assert document.path.startswith("batches/")
    assert media_storage().exists(document.path)
    if content_type.startswith("image/"):
        assert Image.open(io.BytesIO(media_storage().read(document.path))).size == (16, 12)
    else:
        assert media_storage().read(document.path) == data
    assert document.size_bytes == len(media_storage().read(document.path))


def test_photos_lose_their_exif_but_stay_upright(crown):
    run = _open(crown.id)
    original = jpeg_with_exif(size=(40, 20), orientation=6)
    assert b"SpyCam" in original
    document = _attach(run.id, original, kind="photo", title="At the bench")
    stored = media_storage().read(document.path)
    assert b"SpyCam" not in stored and b"SecretEditor" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
        assert image.size == (20, 40)  # turned as the orientation tag said


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_no_photo_format_keeps_its_metadata(crown, fmt):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Industries"
    out = io.BytesIO()
    Image.new("RGB", (24, 16), "gold").save(
        out, format=fmt, exif=exif.tobytes(), xmp=b"<x:xmpmeta>SpyCam</x:xmpmeta>"
    )
    assert b"SpyCam" in out.getvalue()
    document = _attach(crown.runs[0].id, out.getvalue(), kind="photo", title="Bench")
    stored = media_storage().read(document.path)
    assert b"SpyCam" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == fmt and image.size == (24, 16)


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("assay", b"just some text", "not an image or video"),
        ("assay", b"", "empty"),
        ("video", mp4_bytes(b"qt  "), "QuickTime"),
        ("photo", PDF, "bench photo must be"),
        ("video", png(), "short video must be"),
        ("certificate", PDF, "kind of document"),
    ],
)
def test_documents_refused(crown, kind, data, message):
    run = _open(crown.id)
    with pytest.raises(batches.BatchError, match=message):
        _attach(run.id, data, kind=kind)
    assert db.session.execute(select(func.count(BatchDocument.id))).scalar_one() == 0


def test_a_document_needs_a_title(crown):
    run = _open(crown.id)
    with pytest.raises(batches.BatchError, match="title"):
        _attach(run.id, PDF, title="  ")
    with pytest.raises(batches.BatchError, match="at most 160"):
        _attach(run.id, PDF, title="x" * 161)


def test_a_document_is_removed_from_storage_when_its_transaction_rolls_back(crown, tmp_path):
    run = _open(crown.id)
    media_root = tmp_path / "media" / "products" / "batches"
    with pytest.raises(RuntimeError), atomic():
        document = batches.add_document(
            run_id=run.id, kind="assay", title="Assay", data=PDF, by_user_id=None
        )
        key = document.path
        assert media_storage().exists(key)
        raise RuntimeError("the request failed after the upload")
    assert not media_storage().exists(key)
    assert list(media_root.iterdir()) == []
    assert db.session.execute(select(func.count(BatchDocument.id))).scalar_one() == 0


def test_adding_a_document_outside_a_transaction_stores_nothing(crown, tmp_path):
    from app.common.transactions import NoTransaction

    run = _open(crown.id)
    with pytest.raises(NoTransaction):
        batches.add_document(run_id=run.id, kind="assay", title="A", data=PDF, by_user_id=None)
    db.session.rollback()
    folder = tmp_path / "media" / "products" / "batches"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_removing_a_document_deletes_its_file_after_the_commit(crown):
    run = _open(crown.id)
    document = _attach(run.id, PDF)
    key, document_id = document.path, document.id

    with pytest.raises(RuntimeError), atomic():
        batches.remove_document(run_id=run.id, document_id=document_id)
        assert media_storage().exists(key)  # not before the commit
        raise RuntimeError("rolled back")
    assert media_storage().exists(key)
    assert db.session.get(BatchDocument, document_id) is not None

    with atomic():
        assert batches.remove_document(run_id=run.id, document_id=document_id) == "Assay report"
        assert media_storage().exists(key)
    assert not media_storage().exists(key)
    assert db.session.get(BatchDocument, document_id) is None
    with pytest.raises(batches.BatchNotFound), atomic():
        batches.remove_document(run_id=run.id, document_id=document_id)


def test_a_document_of_another_batch_is_not_found(crown):
    run = _open(crown.id)
    other = _open(crown.id, code="OTHER-1")
    document = _attach(run.id, PDF)
    with pytest.raises(batches.BatchNotFound), atomic():
        batches.remove_document(run_id=other.id, document_id=document.id)
    with pytest.raises(batches.BatchNotFound):
        batches.public_document(batch_code="OTHER-1", document_id=document.id)
    assert batches.public_document(batch_code="AUR-YG-2027", document_id=document.id) is not None


# --- a close racing checkout ---------------------------------------------------------------------


def _place(product_id: int, number: int = 0):
    with atomic():
        return checkout.place_order(
            owner=checkout.CartOwner(guest_items=(item(product_id),)),
            details=replace(DETAILS, email=f"racer{number}@example.com"),
            payment_method="manual",
            policy_accepted=True,
        )


BUYERS = 6
# Buyers arrive this far apart; the close comes after each delay in turn, so across the rounds it
# lands before, among and after the checkouts (where exactly is up to the scheduler).
BUYER_SPACING = 0.04
CLOSE_DELAYS = (0.0, 0.06, 0.15, 0.3)


@pytest.fixture
def race_app(app, database_url, tmp_path):
    """A second app on the same database with a connection for every buyer and the closer."""
    options = {"pool_size": BUYERS + 3, "max_overflow": 0} if POSTGRES_URL else {}
    racing = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, **options},
            "MAIL_OUTBOX_DIR": str(tmp_path / "race-outbox"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "SERVER_NAME": "diadem.test",
            "PUBLIC_BASE_URL": "http://diadem.test",
        }
    )
    yield racing
    with racing.app_context():
        db.session.remove()
        db.engine.dispose()  # before the app fixture drops the tables


def _race(race_app, *, product_id: int, run_id: int, close_after: float):
    """Buyers checking out one after another and a close at ``close_after``; their outcomes."""
    barrier = threading.Barrier(BUYERS + 1)
    outcomes: list[tuple[str, object]] = []
    lock = threading.Lock()

    def buyer(number: int) -> None:
        with race_app.app_context():
            barrier.wait(timeout=30)
            time.sleep(number * BUYER_SPACING)
            try:
                outcome = ("reserved", _place(product_id, number).id)
            except checkout.SoldOut:
                outcome = ("sold out", None)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    def closer() -> None:
        with race_app.app_context():
            barrier.wait(timeout=30)
            time.sleep(close_after)
            try:
                with atomic():
                    outcome = ("closed", batches.close_batch(run_id=run_id).withheld)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(BUYERS)]
    threads.append(threading.Thread(target=closer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == BUYERS + 1
    orders = [value for kind, value in outcomes if kind == "reserved"]
    (withheld,) = [value for kind, value in outcomes if kind == "closed"]
    return orders, withheld


def _waiting_on_a_lock(app) -> bool:
    with app.app_context():
        waiting = db.session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar_one()
        db.session.remove()
    return waiting > 0


def _in_thread(target) -> tuple[threading.Thread, list]:
    """Run ``target`` in a thread; the list gets its result or the exception it raised."""
    result: list = []

    def run() -> None:
        try:
            result.append(target())
        except Exception as exc:  # handed to the test's thread, which asserts on it
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks on PostgreSQL")
def test_a_close_waits_for_a_checkout_reserving_a_piece_and_leaves_it_reserved(app, race_app):
    """The checkout has reserved number 7 but not committed when the close starts."""
    with app.app_context():
        product = make_product("mid-checkout", edition_size=10, sold=6)
        product_id, run_id = product.id, product.runs[0].id
    reserved, release = threading.Event(), threading.Event()

    def buyer():
        with race_app.app_context():
            try:
                with atomic():
                    order = _place(product_id)  # a savepoint: the reservation is not committed
                    reserved.set()
                    assert release.wait(timeout=20)
                return order.id
            finally:
                db.session.remove()

    def closer():
        with race_app.app_context():
            try:
                with atomic():
                    return batches.close_batch(run_id=run_id).withheld
            finally:
                db.session.remove()

    buying, bought = _in_thread(buyer)
    assert reserved.wait(timeout=20)
    closing, closed = _in_thread(closer)
    deadline = time.monotonic() + 10
    while not _waiting_on_a_lock(app) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert closing.is_alive() and closed == []  # the close waits for the checkout's piece
    release.set()
    buying.join(timeout=20)
    closing.join(timeout=20)
    (order_id,) = bought
    assert closed == [3]
    with app.app_context():
        statuses = _statuses(run_id)
        assert statuses[7] == "reserved"
        assert [n for n, s in statuses.items() if s == "withheld"] == [8, 9, 10]
        with atomic():
            checkout.mark_paid(order_id=order_id, reference="after the close")
        statuses = _statuses(run_id)
        assert statuses[7] == "sold"
        assert [n for n, s in statuses.items() if s == "withheld"] == [8, 9, 10]


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks on PostgreSQL")
def test_a_checkout_during_a_close_gets_none_of_its_pieces(app, race_app):
    """The close has locked and withheld the free numbers but not committed when a buyer comes."""
    with app.app_context():
        product = make_product("mid-close", edition_size=10, sold=6)
        product_id, run_id = product.id, product.runs[0].id
    locked, release = threading.Event(), threading.Event()

    def closer():
        with race_app.app_context():
            try:
                with atomic():
                    withheld = batches.close_batch(run_id=run_id).withheld
                    locked.set()
                    assert release.wait(timeout=20)
                return withheld
            finally:
                db.session.remove()

    def buyer():
        with race_app.app_context():
            try:
                return _place(product_id).id
            finally:
                db.session.remove()

    closing, closed = _in_thread(closer)
    assert locked.wait(timeout=20)
    buying, bought = _in_thread(buyer)
    buying.join(timeout=20)  # the buyer skips the locked pieces: it does not wait for the close
    assert not buying.is_alive()
    release.set()
    closing.join(timeout=20)
    assert closed == [4]
    (outcome,) = bought
    assert isinstance(outcome, checkout.SoldOut)
    with app.app_context():
        assert sorted(_statuses(run_id).values()) == ["sold"] * 6 + ["withheld"] * 4
        assert db.session.execute(select(func.count(OrderLine.id))).scalar_one() == 0


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks race on PostgreSQL only")
def test_a_close_racing_checkout_never_withholds_a_reserved_piece_or_sells_a_withheld_one(
    app, race_app
):
    for round_, close_after in enumerate(CLOSE_DELAYS):
        with app.app_context():
            product = make_product(f"raced-{round_}", edition_size=10, sold=6)  # 4 numbers left
            product_id, run_id = product.id, product.runs[0].id
        orders, withheld = _race(
            race_app, product_id=product_id, run_id=run_id, close_after=close_after
        )
        with app.app_context():
            statuses = _statuses(run_id)
            live = dict(
                db.session.execute(
                    select(OrderLine.piece_id, func.count())
                    .where(OrderLine.piece_released_at.is_(None), OrderLine.piece_id.is_not(None))
                    .group_by(OrderLine.piece_id)
                ).all()
            )
            pieces = {p.number: p.id for p in db.session.get(EditionRun, run_id).pieces}
            reserved = [n for n, s in statuses.items() if s == "reserved"]
            held = [n for n, s in statuses.items() if s == "withheld"]
            # Each of the four free numbers went one way or the other, never both.
            assert len(reserved) == len(orders) and len(held) == withheld
            assert len(reserved) + len(held) == 4
            assert all(live.get(pieces[n]) == 1 for n in reserved)
            assert all(pieces[n] not in live for n in held)
            # Paying for every order sells exactly the reserved pieces; the withheld stay so.
            for order_id in orders:
                with atomic():
                    checkout.mark_paid(order_id=order_id, reference="race")
            after = _statuses(run_id)
            assert sorted(n for n, s in after.items() if s == "withheld") == sorted(held)
            assert sum(1 for s in after.values() if s == "sold") == 6 + len(orders)
            # And the closed batch sells nothing more.
            with pytest.raises(checkout.SoldOut):
                _place(product_id, 99)


def test_a_close_after_a_reservation_leaves_it_to_be_paid(crown):
    """The serial version of the race, on every database."""
    run = _gold_run(crown)
    order = _place(crown.id)
    with atomic():
        assert batches.close_batch(run_id=run.id).withheld == 9
    with atomic():
        checkout.mark_paid(order_id=order.id, reference="after the close")
    statuses = _statuses(run.id)
    assert sorted(statuses.values()).count("sold") == 1
    assert sorted(statuses.values()).count("withheld") == 9


def test_a_hold_released_after_the_close_withholds_its_piece(crown):
    """Found in review: a cancelled order gave its piece back as available, which the product
    page then counted although a closed batch sells nothing more."""
    run = _gold_run(crown)
    order = _place(crown.id)
    with atomic():
        batches.close_batch(run_id=run.id)
    with atomic():
        checkout.cancel_order(order_id=order.id, by_user_id=None, reason="changed their mind")

    statuses = _statuses(run.id)
    assert set(statuses.values()) == {"withheld"}
    assert reservations.free_piece_count(product_id=crown.id, metal_id=run.metal_id) == 0
