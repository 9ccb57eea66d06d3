"""The certificate of authenticity as a printable A5 PDF (fpdf2, as the invoices are)."""

from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.accounts.artisans import profile_of
from app.common import dates, pdf_fonts
from app.common.storage import ObjectMissing, uploads_storage
from app.provenance.qr import qr_png
from app.provenance.services import Certificate

SIGNATURE_BOX = (60.0, 22.0)  # mm: the signature is fitted inside, keeping its proportions


def signature_png(user_id: int) -> bytes | None:
    """A published maker's stored signature (a cleaned transparent PNG), or None."""
    profile = profile_of(user_id)
    if profile is None or not profile.published or not profile.signature_key:
        return None
    try:
        return uploads_storage().read(profile.signature_key)
    except ObjectMissing:
        return None


class _CertificatePDF(FPDF):
    def __init__(self) -> None:
        # A5 in mm (the "A5" name warns on fpdf2 2.8.x about its old, wrong size).
        super().__init__(unit="mm", format=(148, 210))
        self.set_auto_page_break(auto=False)
        self.set_margins(14, 12, 14)
        if pdf_fonts.add_dejavu(self):
            self.family_name, self.unicode = "DejaVu", True
        else:
            self.family_name, self.unicode = "Helvetica", False

    def text_of(self, value: str) -> str:
        if self.unicode:
            return value
        value = value.replace("×", "x").replace("–", "-").replace("…", "...")
        return value.encode("latin-1", "replace").decode("latin-1")

    def line_of(self, text: str, size: float, *, bold: bool = False, height: float = 6) -> None:
        self.set_font(self.family_name, "B" if bold else "", size)
        self.multi_cell(
            0, height, self.text_of(text), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def fact(self, label: str, value: str) -> None:
        self.set_font(self.family_name, "B", 9)
        self.cell(28, 6, self.text_of(label))
        self.set_font(self.family_name, "", 9)
        self.multi_cell(0, 6, self.text_of(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_certificate_pdf(cert: Certificate, *, passport_url: str) -> bytes:
    """One A5 page: the facts, the maker's signature and name, the QR code and the seal."""
    pdf = _CertificatePDF()
    pdf.set_title(f"Certificate of authenticity · {cert.product}")
    pdf.set_author("Diadem Atelier")
    pdf.add_page()
    pdf.set_draw_color(176, 141, 87)
    pdf.rect(7, 7, pdf.w - 14, pdf.h - 14)
    pdf.set_text_color(120, 90, 40)
    pdf.line_of("DIADEM ATELIER", 9)
    pdf.set_text_color(0)
    pdf.line_of("Certificate of authenticity", 17, bold=True, height=10)
    pdf.line_of(
        "This certifies that the piece described below was made by hand in the Diadem atelier.",
        8.5,
        height=4.5,
    )
    pdf.ln(4)
    stones = "; ".join(f"{s['count']} × {s['kind']} ({s['origin']})" for s in cert.stones)
    makers = ", ".join(m.name for m in cert.makers) or "The Diadem atelier"
    pdf.fact("Piece", cert.product)
    pdf.fact("Number", cert.piece_label)
    pdf.fact("Metal", cert.metal)
    pdf.fact("Stones", stones or "None")
    pdf.fact("Maker", makers)
    pdf.fact("Date", dates.day(cert.issued_on))
    _signature(pdf, cert)
    _seal(pdf, cert, passport_url)
    return bytes(pdf.output())


def _signature(pdf: _CertificatePDF, cert: Certificate) -> None:
    signer = cert.signer
    png = signature_png(signer.user_id) if signer else None
    if signer is None or png is None:
        return
    pdf.ln(4)
    width, height = SIGNATURE_BOX
    pdf.image(
        io.BytesIO(png), x=pdf.l_margin, y=pdf.get_y(), w=width, h=height, keep_aspect_ratio=True
    )
    pdf.set_y(pdf.get_y() + height + 1)
    pdf.set_draw_color(120)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.set_font(pdf.family_name, "", 8.5)
    pdf.cell(width, 5, pdf.text_of(f"{signer.name}, maker"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _seal(pdf: _CertificatePDF, cert: Certificate, passport_url: str) -> None:
    top = pdf.h - 12 - 36
    pdf.image(io.BytesIO(qr_png(passport_url)), x=pdf.l_margin, y=top, w=32, h=32)
    pdf.set_xy(pdf.l_margin + 36, top)
    pdf.set_font(pdf.family_name, "", 7.5)
    lines = [
        "Scan to see this piece's provenance passport:",
        passport_url,
        "History seal (SHA-256 of the latest entry):",
        cert.head_hash,
    ]
    if cert.head_signature:
        lines += ["Atelier's signature (Ed25519):", cert.head_signature]
    else:
        lines.append("This history is not signed.")
    width = pdf.w - pdf.r_margin - (pdf.l_margin + 36)
    pdf.multi_cell(width, 3.4, pdf.text_of("\n".join(lines)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
