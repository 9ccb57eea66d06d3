from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template

from app.catalog import services as catalog
from app.catalog.filters import CatalogFilter
from app.common import health
from app.common.caching import cached_page
from ar import headsize

bp = Blueprint("main", __name__)


@bp.get("/")
@cached_page
def home():
    cards = catalog.list_products(CatalogFilter(sort="newest"))[:6]
    return render_template("main/home.html", cards=cards)


@bp.get("/fit-guide")
def fit_guide():
    return render_template(
        "main/fit_guide.html",
        sizes=catalog.all_sizes(),
        figures=headsize.published_figures(),
        regression=headsize.REGRESSION,
        correlation=headsize.CIRCUMFERENCE_BREADTH_CORRELATION,
    )


@bp.get("/policies/returns")
def returns_policy():
    return render_template("main/policy_returns.html")


@bp.get("/policies/repairs")
def repairs_policy():
    return render_template("main/policy_repairs.html")


@bp.get("/policies/privacy")
def privacy_policy():
    return render_template("main/policy_privacy.html")


@bp.get("/policies/terms")
def terms():
    return render_template("main/policy_terms.html")


@bp.get("/contact")
def contact():
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    email = parseaddr(sender if isinstance(sender, str) else sender[1])[1]
    return render_template(
        "main/contact.html", email=email, address=current_app.config.get("STUDIO_ADDRESS")
    )


@bp.get("/favicon.ico")
def favicon():
    # Browsers ask for /favicon.ico on pages that name no icon (a PDF, a bare error). Sent from
    # memory: a few kilobytes, and no file left open by a client that never reads the body.
    data = (Path(current_app.static_folder) / "favicon.ico").read_bytes()
    response = Response(data, mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.get("/healthz")
def healthz():
    """The process is up (no dependency is touched: the load balancer's liveness probe)."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Whether this process can serve: 200 with each check, or 503 naming what is down."""
    checks = health.readiness()
    down = [check.name for check in checks if not check.ok]
    body = {
        "status": "unavailable" if down else "ok",
        "checks": {check.name: check.detail for check in checks},
    }
    if down:
        body["down"] = down
    return body, 503 if down else 200, {"Cache-Control": "no-store"}
