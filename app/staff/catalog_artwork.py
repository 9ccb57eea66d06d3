"""Staff pages for catalogue photos: upload, order and remove a product's pictures."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalog_artwork", __name__, url_prefix="/staff/catalog/artwork")
