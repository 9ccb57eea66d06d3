"""Staff pages for batches (edition runs): open, document and close a batch."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalog_batches", __name__, url_prefix="/staff/catalog/batches")
