"""Invoices start from fonts parsed once per process, and each document still gets its own.

Parsing DejaVu Sans and its bold was most of an invoice's render, paid at every ``mark_paid``.
The parse is now kept; the font object fontTools' subsetter cuts down in place is not, so two
documents with different characters (one after the other, or at once in two threads) each
embed the glyphs they print, and render to the very bytes they did before.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from fpdf.fonts import TTFFont
from pypdf import PdfReader

from app.checkout import invoices
from app.checkout.models import Order
from app.common.transactions import atomic
from tests.checkout.support import item, place
from tests.helpers import race

# Characters DejaVu Sans has and the test buyer's details do not.
CYRILLIC, GREEK = "Жанна Ёлкина", "Ωμέγα Ψυχή"

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists(),
    reason="DejaVu is not installed: invoices use the core fonts",
)


def embedded_characters(pdf: bytes) -> dict[str, set[str]]:
    """Each embedded font's name and the characters its subset can draw."""
    fonts: dict[str, set[str]] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            subset = TTFont(io.BytesIO(descriptor["/FontFile2"].get_data()))
            fonts[str(font["/BaseFont"])] = {chr(code) for code in subset.getBestCmap()}
    return fonts


def drawable(pdf: bytes) -> set[str]:
    return set().union(*embedded_characters(pdf).values())


def placed_for(name: str, product_id: int) -> Order:
    order = place(item(product_id))
    with atomic():
        order.name = name
    return order


@pytest.fixture
def two_orders(app, shop):
    with app.app_context():
        yield placed_for(CYRILLIC, shop.crown_id), placed_for(GREEK, shop.tiara_id)


def test_many_invoices_parse_each_font_file_at_most_once(two_orders, monkeypatch):
    parsed: list[str] = []
    parse = TTFFont.__init__

    def counting_parse(self, fpdf, font_file_path, *args, **kwargs):
        parsed.append(str(font_file_path))
        parse(self, fpdf, font_file_path, *args, **kwargs)

    monkeypatch.setattr(TTFFont, "__init__", counting_parse)
    for _ in range(3):
        for order in two_orders:
            invoices.render_invoice_pdf(order)

    # Regular and bold, once each in this process (or not at all, if a test parsed them before).
    assert len(parsed) == len(set(parsed)) <= 2, parsed


def test_documents_with_different_characters_each_embed_their_own(two_orders):
    cyrillic_order, greek_order = two_orders
    cyrillic = invoices.render_invoice_pdf(cyrillic_order)
    greek = invoices.render_invoice_pdf(greek_order)
    cyrillic_again = invoices.render_invoice_pdf(cyrillic_order)

    assert set(CYRILLIC) - {" "} <= drawable(cyrillic)
    assert not set("ΩμέγαΨυχή") & drawable(cyrillic)
    assert set(GREEK) - {" "} <= drawable(greek)
    assert not set("ЖаннаЁлкина") & drawable(greek)
    # The second document's glyphs did not shrink or grow the first's font.
    assert cyrillic_again == cyrillic


def test_documents_rendered_at_once_are_those_rendered_one_by_one(app, two_orders):
    numbers = [order.number for order in two_orders]
    alone = [invoices.render_invoice_pdf(order) for order in two_orders]

    def render(racer: int) -> bytes:
        from app.checkout import services

        return invoices.render_invoice_pdf(services.get_order_by_number(numbers[racer % 2]))

    at_once = race(4, render, app=app)

    assert at_once == [alone[0], alone[1], alone[0], alone[1]]
