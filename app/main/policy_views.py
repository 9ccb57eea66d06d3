"""Published policies: the quality checklist (from QC's own) and the materials policy."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "policies",
    __name__,
)
