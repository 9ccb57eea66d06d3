"""Staff pages for products: create, edit, preview, publish and retire."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalog_products", __name__, url_prefix="/staff/catalog/products")
