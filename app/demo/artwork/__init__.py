"""Procedural product artwork: crowns and tiaras drawn with Pillow and numpy, no assets needed.

Pieces are drawn at 2-4x resolution as a height map of metal parts (shaded like polished metal
reflecting a studio), velvet under them and analytic stones over them, then downsampled.
"""

from __future__ import annotations

from app.demo.artwork.design import KINDS, MAX_STONES, STONE_COLOURS, STYLES, PieceDesign
from app.demo.artwork.palette import GEMS, METALS, VELVETS, Stops
from app.demo.artwork.render import _slot_plan as _slot_plan
from app.demo.artwork.render import _stone_slots as _stone_slots
from app.demo.artwork.render import png_bytes, render_overlay
from app.demo.artwork.studio import render_catalog_image

__all__ = [
    "GEMS",
    "KINDS",
    "MAX_STONES",
    "METALS",
    "STONE_COLOURS",
    "STYLES",
    "VELVETS",
    "PieceDesign",
    "Stops",
    "png_bytes",
    "render_catalog_image",
    "render_overlay",
]
