"""Staff pages for bench capacity and the commission queue, and the policies admins edit."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("capacity_staff", __name__, url_prefix="/staff/capacity")
