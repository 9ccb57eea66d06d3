"""Public batch pages: a batch's sourcing, documents and which numbers are sold."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("batches", __name__, url_prefix="/batches")
