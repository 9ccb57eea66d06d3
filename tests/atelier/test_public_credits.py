"""Public pages name who did the work only through published profiles; certificates and PDFs."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageChops
from pypdf import PdfReader

from app.atelier import images
from app.catalog.models import EditionRun, Piece
from app.common.transactions import atomic
from app.extensions import db
from app.provenance import services
from tests.atelier.builders import give_profile, signature_png
from tests.staff.builders import make_fast_user


def _piece_passport(atelier, *, made_by: int | None, actor: str) -> str:
    piece_id = db.session.execute(db.select(Piece.id).order_by(Piece.id).limit(1)).scalar_one()
    with atomic():
        passport = services.passport_for_piece(piece_id=piece_id)
    with atomic():
        services.add_staff_entry(
            passport_id=passport.id,
            kind="step",
            summary="Chased the scrolls",
            occurred_on=None,
            actor=actor,
            origin="",
            source="",
            uploads=[],
            recorded_by_id=atelier.checker_id,
            made_by_id=made_by,
        )
    return passport.code


def test_a_login_typed_as_the_maker_never_reaches_the_passport(app, client, atelier):
    with app.app_context():
        make_fast_user(email="staff1@diadem.test", name="staff1")
        code = _piece_passport(atelier, made_by=None, actor="staff1")
        # Before profiles, an entry's own text was printed: "Maker: staff1".
        legacy = _piece_passport(atelier, made_by=None, actor="Theo Setter")
    for path in (f"/p/{code}", f"/p/{code}/certificate", f"/p/{legacy}"):
        html = client.get(path).get_data(as_text=True)
        assert "staff1" not in html and "Theo Setter" not in html, path
        assert "The atelier" in html or "The Diadem atelier" in html, path


def test_a_published_profile_is_credited_and_linked_everywhere(app, client, atelier):
    with app.app_context():
        give_profile(atelier.artisan_id, "Mira Goldsmith", "mira")
        code = _piece_passport(atelier, made_by=atelier.artisan_id, actor="")
    link = '<a class="artisan-link" href="/atelier/mira">Mira Goldsmith</a>'
    assert link in client.get(f"/p/{code}").get_data(as_text=True)
    assert link in client.get(f"/p/{code}/certificate").get_data(as_text=True)
    page = client.get("/atelier/mira").get_data(as_text=True)
    assert "Aurelia Test" in page and "01/10" in page and "Bea" not in page
    with app.app_context():
        give_profile(atelier.artisan_id, "Mira Goldsmith", "mira", published=False)
    html = client.get(f"/p/{code}").get_data(as_text=True)
    assert "Mira" not in html and "The atelier" in html


def test_a_batch_certificate_is_an_edition_and_a_commission_one_of_one(app, client, atelier):
    with app.app_context():
        run = db.session.execute(db.select(EditionRun).limit(1)).scalar_one()
        with atomic():
            code = services.passport_for_run(run_id=run.id).code
        batch = run.batch_code
    html = client.get(f"/p/{code}/certificate").get_data(as_text=True)
    assert "One of one" not in html
    assert f"Edition of 10 (batch {batch})" in html


def test_the_certificate_pdf_is_a5_and_carries_the_makers_signature(app, client, atelier):
    uploaded = signature_png()
    with app.app_context():
        give_profile(atelier.artisan_id, "Mira Goldsmith", "mira", signature=uploaded)
        code = _piece_passport(atelier, made_by=atelier.artisan_id, actor="")
    html = client.get(f"/p/{code}/certificate").get_data(as_text=True)
    assert 'src="/atelier/mira/signature.png"' in html and "Signature of Mira Goldsmith" in html
    response = client.get(f"/p/{code}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    (page,) = reader.pages
    width_mm, height_mm = (float(v) * 25.4 / 72 for v in page.mediabox[2:])
    assert round(width_mm) == 148 and round(height_mm) == 210
    text = page.extract_text()
    assert "Mira Goldsmith" in text and "01/10" in text
    embedded = [img.image for img in page.images if img.image.size == (180, 60)]
    assert len(embedded) == 1, [img.image.size for img in page.images]
    expected = Image.open(io.BytesIO(images.clean_signature(uploaded))).convert("RGBA")
    diff = ImageChops.difference(embedded[0].convert("RGBA"), expected)
    assert max(high for _, high in diff.getextrema()) <= 2


def test_production_steps_credit_the_maker_who_moved_the_piece(app, client, atelier):
    from app.staff import services as staff
    from tests.staff.builders import only_line, paid_order, qc_pass

    with app.app_context():
        give_profile(atelier.artisan_id, "Mira Goldsmith", "mira")
        line = only_line(
            paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        )
        for target in ("hand_finishing", "qc"):
            with atomic():
                staff.move_line(
                    order_line_id=line.id,
                    target=target,
                    expected_stage=None,
                    by_user_id=atelier.artisan_id,
                )
        qc_pass(line.id, checker_id=atelier.checker_id)
        code = services.passport_for_piece(piece_id=line.piece_id).code
    html = client.get(f"/p/{code}").get_data(as_text=True)
    mira = '<a class="artisan-link" href="/atelier/mira">Mira Goldsmith</a>'
    assert f"· {mira}" in html
    # The QC entry: Mira made it (profile), Theo checked it (no profile).
    assert f"work by {mira}, checked by the atelier" in html and "Theo" not in html
    assert "Aurelia Test" in client.get("/atelier/mira").get_data(as_text=True)


def test_a_commission_certificate_is_one_of_one(app, client, atelier):
    from tests.staff.builders import only_line, paid_order

    with app.app_context():
        line = only_line(
            paid_order(user_id=atelier.customer_id, product_id=atelier.custom_product_id)
        )
        with atomic():
            code = services.passport_for_commission(order_line_id=line.id).code
    html = client.get(f"/p/{code}/certificate").get_data(as_text=True)
    assert "One of one" in html and "Bea" not in html


def test_staff_name_who_did_a_step_from_the_passport_page(app, client, atelier):
    from tests.helpers import csrf_token, login
    from tests.staff.builders import PASSWORD

    with app.app_context():
        give_profile(atelier.checker_id, "Theo Setter", "theo")
        code = _piece_passport(atelier, made_by=None, actor="")
    login(client, "mira@example.org", PASSWORD)
    manage = f"/staff/provenance/{code}"
    token = csrf_token(client, manage)
    entry = {"csrf_token": token, "kind": "step", "summary": "Set the diamonds"}
    refused = client.post(f"{manage}/entries", data={**entry, "made_by": atelier.customer_id})
    assert refused.status_code == 400
    assert "Choose a member of the atelier" in refused.get_data(as_text=True)
    junk = client.post(f"{manage}/entries", data={**entry, "made_by": "abc"})
    assert junk.status_code == 400
    done = client.post(f"{manage}/entries", data={**entry, "made_by": atelier.checker_id})
    assert done.status_code == 302
    html = client.get(f"/p/{code}").get_data(as_text=True)
    assert '· <a class="artisan-link" href="/atelier/theo">Theo Setter</a>' in html


def test_the_certificate_pdf_shows_the_signature_where_a_reader_looks(app, client, atelier):
    """Rendered, not only embedded: PDFium draws the page, and where the page places the
    signature image the pixels are the signature's ink on white, at its own proportions."""
    uploaded = signature_png()
    with app.app_context():
        give_profile(atelier.artisan_id, "Mira Goldsmith", "mira", signature=uploaded)
        code = _piece_passport(atelier, made_by=atelier.artisan_id, actor="")
    document = pdfium.PdfDocument(client.get(f"/p/{code}/certificate.pdf").data)
    page = document[0]
    scale = 4.0  # 288 dpi
    rendered = page.render(scale=scale).to_pil().convert("L")
    page_height = page.get_height()
    signature = Image.open(io.BytesIO(images.clean_signature(uploaded))).convert("RGBA")
    placed = []
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        left, bottom, right, top = obj.get_bounds()
        width, height = right - left, top - bottom
        if abs(width / height - signature.width / signature.height) < 0.02:
            placed.append((left, page_height - top, right, page_height - bottom))
    document.close()
    assert len(placed) == 1, placed  # the QR code and the seal are square
    box = tuple(round(v * scale) for v in placed[0])
    drawn = rendered.crop(box)
    on_white = Image.new("RGBA", signature.size, "white")
    on_white.alpha_composite(signature)
    expected = on_white.convert("L").resize(drawn.size, Image.Resampling.LANCZOS)
    ink = sum(1 for v in expected.getdata() if v < 128)
    assert ink > 0.02 * drawn.width * drawn.height  # the sample signature has ink to compare
    difference = ImageChops.difference(drawn, expected)
    mean_error = sum(difference.getdata()) / (drawn.width * drawn.height)
    assert mean_error < 12, mean_error  # 3.7 drawn; 23 with a blank image in its place
