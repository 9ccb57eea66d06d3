"""The invoice as a PDF (fpdf2), drawn from the order's frozen breakdowns."""

from __future__ import annotations

from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.checkout.models import Order, OrderLine, Payment, PaymentStatus
from app.checkout.services.settings import setting
from app.common import addresses, dates, pdf_fonts
from app.domain.money import Money


def seller_lines() -> list[str]:
    """The seller as invoices print it, from the SELLER setting (legal name first)."""
    seller = setting("SELLER")
    lines = [seller.get("legal_name", ""), seller.get("address", "")]
    if seller.get("company_number"):
        lines.append(f"Company no. {seller['company_number']}")
    if seller.get("vat_number"):
        lines.append(f"VAT no. {seller['vat_number']}")
    lines.append(seller.get("email", ""))
    return [line for line in lines if line]


def shipping_note(order: Order) -> str:
    """The closing line, in the order's own tense: a piece not yet sent is not "shipped"."""
    insured = Money(order.insured_value_minor or order.goods_minor, order.currency).format()
    if order.shipped_at is not None:
        sent = f"Shipped insured for {insured} with signature on delivery"
        sent += f" ({order.carrier})." if order.carrier else "."
    else:
        sent = f"Ships insured for {insured} with signature on delivery."
    return sent + " Returns and repairs follow the policy accepted at checkout."


def pending_bank_payment(order: Order) -> Payment | None:
    """The bank transfer this pro-forma asks for, if one is awaited (its reference to quote)."""
    return next((p for p in order.payments if p.method == "manual" and p.status == "pending"), None)


def invoice_title(order: Order) -> str:
    return "Invoice" if order.paid_minor > 0 else "Pro-forma invoice"


def balance_payment(order: Order) -> Payment | None:
    """The commission's balance as received (the last settled balance payment), if it was."""
    settled = [
        p for p in order.payments if p.kind == "balance" and p.status == PaymentStatus.SUCCEEDED
    ]
    return settled[-1] if settled else None


def balance_settled(order: Order) -> bool:
    """Whether a balance was paid and nothing is outstanding: the balance receipt is due."""
    return balance_payment(order) is not None and order.outstanding_minor == 0


class _InvoicePDF(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)
        # Unicode text (×, –, accented names) needs a TrueType font; DejaVu ships with Debian.
        if pdf_fonts.add_dejavu(self):
            self.diadem_family = "DejaVu"
            self.diadem_unicode = True
        else:
            self.diadem_family = "Helvetica"
            self.diadem_unicode = False
        self.diadem_currency = "GBP"

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
        self.cell(0, 5, self.clean(f"{seller_lines()[0]} · page {self.page_no()}"), align="C")

    def money(self, minor: int) -> str:
        return Money(minor, self.diadem_currency).format()

    def next_line(self, height: float, text: str) -> None:
        """One full-width line of text, then move to the start of the next."""
        self.cell(0, height, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def row(self, label: str, value: str, *, bold: bool = False, size: float = 10) -> None:
        """A label on the left and an amount aligned right."""
        self.use_font(size, bold)
        self.cell(self.epw - 40, 6, self.clean(label))
        self.cell(40, 6, self.clean(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_invoice_pdf(order: Order) -> bytes:
    """A printable A4 invoice: seller, buyer, each piece with its breakdown, totals, payments."""
    issued = _issued_at(order)
    pdf = _document(
        order,
        f"{invoice_title(order)} {order.number}",
        issued,
        f"Date: {dates.day(issued)}    Status: {order.status_label}",
    )
    for line in order.lines:
        _piece(pdf, line)
    _totals(pdf, order)
    if order.payments:
        _payments(pdf, order)
    awaited = pending_bank_payment(order)
    if awaited is not None:
        _bank_instructions(pdf, awaited)
    pdf.use_font(8)
    pdf.set_text_color(90)
    pdf.multi_cell(
        0,
        4,
        pdf.clean(shipping_note(order)),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())


def _document(order: Order, title: str, dated_at: datetime, dated: str) -> _InvoicePDF:
    """A new document's first page: seller, title, date line, buyer."""
    pdf = _InvoicePDF()
    pdf.diadem_currency = order.currency
    pdf.set_title(title)
    pdf.set_author(seller_lines()[0])
    # Dated by the order, not the clock: the same order renders to the same bytes, so a
    # re-render (storage down, the job and a download racing) is the very document issued.
    pdf.set_creation_date(dated_at.replace(tzinfo=UTC))
    pdf.add_page()
    _heading(pdf, title, dated)
    _address(pdf, order)
    return pdf


def _issued_at(order: Order) -> datetime:
    return order.paid_at or order.placed_at or order.created_at


def _heading(pdf: _InvoicePDF, title: str, dated: str) -> None:
    name, *rest = seller_lines()
    pdf.use_font(18, bold=True)
    pdf.next_line(10, name)
    pdf.use_font(9)
    pdf.set_text_color(90)
    pdf.next_line(5, " · ".join(rest))
    pdf.set_text_color(0)
    pdf.ln(4)
    pdf.use_font(14, bold=True)
    pdf.next_line(8, title)
    pdf.use_font(10)
    pdf.next_line(6, dated)
    pdf.ln(2)


def _address(pdf: _InvoicePDF, order: Order) -> None:
    address = [*addresses.lines(order), order.email]
    pdf.use_font(10, bold=True)
    pdf.next_line(6, "Bill and ship to")
    pdf.use_font(10)
    for part in address:
        if part:
            pdf.next_line(5, part)
    pdf.ln(3)


def _piece_title(line: OrderLine) -> str:
    title = f"{line.product_name} — {line.metal_name}, size {line.size_code}"
    if line.piece_label:
        title += f", piece No. {line.piece_label}"
    return title


def _piece(pdf: _InvoicePDF, line: OrderLine) -> None:
    breakdown = line.frozen_breakdown()
    title = _piece_title(line)
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
    pdf.row(f"Piece total{version}", pdf.money(breakdown.total.minor), bold=True)
    pdf.ln(2)


def _totals(pdf: _InvoicePDF, order: Order) -> None:
    pdf.set_draw_color(60)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(2)
    pdf.row("Goods", pdf.money(order.goods_minor))
    pdf.row("Packaging and insured shipping", pdf.money(order.shipping_minor))
    pdf.row("Total", pdf.money(order.total_minor), bold=True, size=11)
    if order.deposit_minor:
        pdf.row("Deposit due at order", pdf.money(order.deposit_minor))
    pdf.row("Paid", pdf.money(order.paid_minor))
    if order.refunded_minor:
        pdf.row("Refunded", pdf.money(order.refunded_minor))
    pdf.row("Outstanding", pdf.money(order.outstanding_minor), bold=True)
    pdf.ln(3)


def _bank_instructions(pdf: _InvoicePDF, payment: Payment) -> None:
    pdf.use_font(10, bold=True)
    pdf.next_line(6, "Pay by bank transfer")
    pdf.use_font(9)
    pdf.next_line(5, f"Transfer {pdf.money(payment.amount_minor)} quoting {payment.reference}")
    for label, value in setting("BANK_TRANSFER_DETAILS").items():
        pdf.next_line(5, f"{label}: {value}")
    pdf.ln(2)


def _payments(pdf: _InvoicePDF, order: Order) -> None:
    pdf.use_font(10, bold=True)
    pdf.next_line(6, "Payments")
    pdf.use_font(9)
    for payment in order.payments:
        when = dates.day(payment.settled_at or payment.created_at)
        method = "Bank transfer" if payment.method == "manual" else "Card"
        note = f"; {payment.customer_note})" if payment.customer_note else ")"
        pdf.row(
            f"{when}  {method}, {payment.kind}, {payment.status} ({payment.reference}{note}",
            pdf.money(payment.amount_minor),
            size=9,
        )
    _refund_rows(pdf, order)
    pdf.ln(2)


def _refund_rows(pdf: _InvoicePDF, order: Order) -> None:
    for refund in order.refunds:
        pdf.row(
            f"{dates.day(refund.created_at)}  Refund, {refund.status}",
            "-" + pdf.money(refund.amount_minor),
            size=9,
        )


def render_balance_receipt_pdf(order: Order) -> bytes:
    """A printable A4 receipt for a commission's balance: what the order came to, each payment
    received against its invoice, and nothing outstanding.

    The invoice (issued at the first payment) stays as it was; this is the document that says
    the balance it showed was paid. Dated by the balance payment, so a re-render is the same.
    """
    balance = balance_payment(order)
    if balance is None:
        raise ValueError(f"Order {order.number} has no paid balance to give a receipt for")
    received = balance.settled_at or balance.created_at
    title = f"Balance receipt {order.number}"
    pdf = _document(order, title, received, f"Date: {dates.day(received)}")
    pdf.use_font(10)
    pdf.multi_cell(
        0,
        5,
        pdf.clean(
            f"Received with thanks: the balance of {pdf.money(balance.amount_minor)} on invoice "
            f"{order.number}, which is now paid in full."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(3)
    for line in order.lines:
        pdf.row(_piece_title(line), pdf.money(line.total_minor), size=9)
    pdf.ln(1)
    _receipt_totals(pdf, order)
    return bytes(pdf.output())


def _receipt_totals(pdf: _InvoicePDF, order: Order) -> None:
    pdf.set_draw_color(60)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(2)
    pdf.row("Order total", pdf.money(order.total_minor), bold=True, size=11)
    for payment in order.payments:
        if payment.status != PaymentStatus.SUCCEEDED:
            continue
        method = "bank transfer" if payment.method == "manual" else "card"
        when = dates.day(payment.settled_at or payment.created_at)
        label = _received_label(order, payment)
        line = f"{label}, {when}, by {method} ({payment.reference})"
        pdf.row(line, pdf.money(payment.amount_minor), size=9)
    _refund_rows(pdf, order)
    pdf.row("Paid", pdf.money(order.paid_minor))
    pdf.row("Outstanding", pdf.money(order.outstanding_minor), bold=True)
    pdf.ln(3)


def _received_label(order: Order, payment: Payment) -> str:
    if payment.kind == "balance":
        return "Balance paid"
    if payment.amount_minor == order.deposit_minor:
        return "Deposit paid"
    return "Paid at order, with the deposit"
