"""Staff pages for try-on overlays: upload a transparent PNG and calibrate its band."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalog_overlays", __name__, url_prefix="/staff/catalog/overlays")
