"""The invoice as a PDF (fpdf2), drawn from the order's frozen breakdowns."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.checkout.forms import country_name
from app.checkout.models import Order
from app.domain.money import Money

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
SELLER = ("Diadem Atelier Ltd", "Handmade crowns and tiaras", "atelier@diadem.test")


def invoice_title(order: Order) -> str:
    return "Invoice" if order.paid_minor > 0 else "Pro-forma invoice"


class _InvoicePDF(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)
        if (DEJAVU / "DejaVuSans.ttf").exists():
            # Unicode text (×, –, accented names) needs a TrueType font; DejaVu ships with Debian.
            self.add_font("DejaVu", "", str(DEJAVU / "DejaVuSans.ttf"))
            self.add_font("DejaVu", "B", str(DEJAVU / "DejaVuSans-Bold.ttf"))
            self.diadem_family = "DejaVu"
            self.diadem_unicode = True
        else:
            self.diadem_family = "Helvetica"
            self.diadem_unicode = False

    def clean(self, value: str) -> str:
        if self.diadem_unicode:
            return value
        # The core fonts only know Latin-1: keep what they can print.
        replaced = value.replace("×", "x").replace("–", "-").replace("—", "-")
        return replaced.encode("latin-1", "replace").decode("latin-1")

    def use_font(self, size: float, bold: bool = False) -> None:
        self.set_font(self.diadem_family, "B" if bold else "", size)

    def footer(self) -> None:
        self.set_y(-13)
        self.use_font(8)
        self.set_text_color(110)
        self.cell(0, 5, self.clean(f"{SELLER[0]} · page {self.page_no()}"), align="C")


def render_invoice_pdf(order: Order) -> bytes:
    """A printable A4 invoice: seller, buyer, each piece with its breakdown, totals, payments."""
    pdf = _InvoicePDF()
    pdf.set_title(f"{invoice_title(order)} {order.number}")
    pdf.set_author(SELLER[0])
    pdf.add_page()
    width = pdf.epw
    cur = order.currency

    def money(minor: int) -> str:
        return Money(minor, cur).format()

    def row(label: str, value: str, *, bold: bool = False, size: float = 10) -> None:
        pdf.use_font(size, bold)
        pdf.cell(width - 40, 6, pdf.clean(label))
        pdf.cell(40, 6, pdf.clean(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.use_font(18, bold=True)
    pdf.cell(0, 10, pdf.clean(SELLER[0]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.use_font(9)
    pdf.set_text_color(90)
    pdf.cell(0, 5, pdf.clean(f"{SELLER[1]} · {SELLER[2]}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.ln(4)

    pdf.use_font(14, bold=True)
    pdf.cell(
        0,
        8,
        pdf.clean(f"{invoice_title(order)} {order.number}"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.use_font(10)
    issued = (order.paid_at or order.placed_at or order.created_at).date().isoformat()
    pdf.cell(
        0,
        6,
        pdf.clean(f"Date: {issued}    Status: {order.status_label}"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(2)

    address = [
        order.name,
        order.address_line1,
        order.address_line2,
        " ".join(x for x in (order.postal_code, order.city) if x),
        order.region,
        country_name(order.country),
        order.email,
    ]
    pdf.use_font(10, bold=True)
    pdf.cell(0, 6, pdf.clean("Bill and ship to"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.use_font(10)
    for part in address:
        if part:
            pdf.cell(0, 5, pdf.clean(part), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)

    for line in order.lines:
        breakdown = line.frozen_breakdown()
        title = f"{line.product_name} — {line.metal_name}, size {line.size_code}"
        if line.piece_label:
            title += f", piece No. {line.piece_label}"
        pdf.use_font(11, bold=True)
        pdf.multi_cell(0, 6, pdf.clean(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.use_font(9)
        # A table wraps long details and keeps each row's height.
        with pdf.table(
            col_widths=(36, 44, 20),
            text_align=("LEFT", "LEFT", "RIGHT"),
            borders_layout="NONE",
            first_row_as_headings=False,
            line_height=4.6,
            padding=(0.6, 1, 0.6, 0),
        ) as table:
            for price_line in breakdown.lines:
                cells = table.row()
                cells.cell(pdf.clean(price_line.label))
                cells.cell(pdf.clean(price_line.detail))
                cells.cell(pdf.clean(price_line.amount.format()))
        version = f" (price v{line.breakdown_version})" if line.is_custom else ""
        row(f"Piece total{version}", money(breakdown.total.minor), bold=True)
        pdf.ln(2)

    pdf.set_draw_color(60)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(2)
    row("Goods", money(order.goods_minor))
    row("Packaging and insured shipping", money(order.shipping_minor))
    row("Total", money(order.total_minor), bold=True, size=11)
    if order.deposit_minor:
        row("Deposit due at order", money(order.deposit_minor))
    row("Paid", money(order.paid_minor))
    if order.refunded_minor:
        row("Refunded", money(order.refunded_minor))
    row("Outstanding", money(order.outstanding_minor), bold=True)
    pdf.ln(3)

    if order.payments:
        pdf.use_font(10, bold=True)
        pdf.cell(0, 6, pdf.clean("Payments"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.use_font(9)
        for payment in order.payments:
            when = (payment.settled_at or payment.created_at).date().isoformat()
            method = "Bank transfer" if payment.method == "manual" else "Card"
            row(
                f"{when}  {method}, {payment.kind}, {payment.status} ({payment.reference}"
                + (f"; {payment.note})" if payment.note else ")"),
                money(payment.amount_minor),
                size=9,
            )
        for refund in order.refunds:
            row(
                f"{refund.created_at.date().isoformat()}  Refund, {refund.status}",
                "-" + money(refund.amount_minor),
                size=9,
            )
        pdf.ln(2)

    pdf.use_font(8)
    pdf.set_text_color(90)
    pdf.multi_cell(
        0,
        4,
        pdf.clean(
            f"Shipped insured for {money(order.insured_value_minor)} with signature on delivery. "
            "Returns and repairs follow the policy accepted at checkout."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())
