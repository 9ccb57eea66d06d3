"""TrueType fonts for fpdf2 documents, parsed once per process.

``FPDF.add_font`` parses the font file for every document: DejaVu Sans and its bold cost about
35 ms each, most of an invoice's render. What that parse yields (metrics, the character map,
glyph ids and widths) never changes, so it is kept per process; what a document changes is
given to each document afresh:

- ``ttfont``: fontTools' subsetter cuts the font down in place when the document is written,
  so each document re-opens the font from the file's bytes (lazily, so ~0.1 ms);
- ``desc``, the font descriptor, which is a PDF object that output numbers and fills in;
- ``subset``, ``missing_glyphs``, ``cw`` (a defaultdict, which grows on lookups) and
  ``biggest_size_pt``.

Everything else (the character map, glyph ids, names and metrics) is read only and shared, so
documents rendered at once in several threads (gunicorn threads, the RQ worker) never write to
what another one reads.
"""

from __future__ import annotations

import copy
import io
import threading
from dataclasses import dataclass
from pathlib import Path

from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class _ParsedFont:
    """One font file as fpdf2 parsed it, never handed to a document itself."""

    template: TTFFont
    file_bytes: bytes


_parsed: dict[tuple[Path, str, str], _ParsedFont | None] = {}
_parse_lock = threading.Lock()


def add_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    """Make a TrueType font available to ``pdf``, as ``pdf.add_font`` would, parsed once."""
    style = "".join(sorted(style.upper()))
    fontkey = f"{family.lower()}{style}"
    parsed = _parsed_font(path, fontkey, style)
    if parsed is None or fontkey in pdf.fonts:
        # A font this module would not copy faithfully (or a second add): fpdf2's own way.
        pdf.add_font(family, style, str(path))
        return
    pdf.fonts[fontkey] = _document_copy(parsed, index=len(pdf.fonts) + 1)


def add_dejavu(pdf: FPDF) -> bool:
    """Add DejaVu Sans (regular and bold) as family "DejaVu"; False where it is not installed."""
    if not (DEJAVU / "DejaVuSans.ttf").exists():
        return False
    add_font(pdf, "DejaVu", "", DEJAVU / "DejaVuSans.ttf")
    add_font(pdf, "DejaVu", "B", DEJAVU / "DejaVuSans-Bold.ttf")
    return True


def _parsed_font(path: Path, fontkey: str, style: str) -> _ParsedFont | None:
    key = (path, fontkey, style)
    parsed = _parsed.get(key)
    if parsed is not None or key in _parsed:
        return parsed
    with _parse_lock:
        if key not in _parsed:
            _parsed[key] = _parse(path, fontkey, style)
        return _parsed[key]


def _parse(path: Path, fontkey: str, style: str) -> _ParsedFont | None:
    file_bytes = path.read_bytes()
    template = TTFFont(FPDF(), path, fontkey, style)
    try:
        if not _copyable(template, file_bytes):
            return None
    finally:
        # The template's own font object is never used again (each document opens its own).
        template.close()
    return _ParsedFont(template=template, file_bytes=file_bytes)


def _copyable(template: TTFFont, file_bytes: bytes) -> bool:
    """Whether a document's copy would be the font fpdf2 itself would give that document.

    Not for colour fonts (their glyph drawings hold the font object), compressed (WOFF) or CFF
    fonts, nor a TrueType font without a ``.notdef`` glyph (fpdf2 draws one into its own
    parse, which a re-opened font would lack).
    """
    if template.color_font is not None or template.is_compressed or template.is_cff:
        return False
    font = _open(file_bytes)
    try:
        return "glyf" in font and ".notdef" in font["glyf"]
    finally:
        font.close()


def _open(file_bytes: bytes) -> ttLib.TTFont:
    # The options fpdf2's TTFFont opens a font with (recalcTimestamp=False keeps the bytes
    # stable: the same order renders to the same document).
    return ttLib.TTFont(io.BytesIO(file_bytes), recalcTimestamp=False, lazy=True)


def _document_copy(parsed: _ParsedFont, *, index: int) -> TTFFont:
    """A TTFFont for one document: the parse shared, everything a document changes its own."""
    template = parsed.template
    font = TTFFont.__new__(TTFFont)
    for slot in TTFFont.__slots__:
        if hasattr(template, slot):  # fpdf2 2.8 declares unicode_range but never sets it
            setattr(font, slot, getattr(template, slot))
    font.i = index
    font.ttfont = _open(parsed.file_bytes)
    font.desc = copy.copy(template.desc)
    font.cw = template.cw.copy()
    font.glyph_ids = dict(template.glyph_ids)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.subset = SubsetMap(font)
    return font
