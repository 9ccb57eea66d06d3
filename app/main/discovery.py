"""What crawlers read: ``/robots.txt`` (staff, account, cart and checkout kept out) and
``/sitemap.xml`` (published products, their batch pages, policies, published artisans), on the
public base URL."""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app

from app.atelier import services as atelier
from app.catalog import sitemap
from app.common.links import public_url

bp = Blueprint("discovery", __name__)

# Per-person pages (signed links, accounts) and staff tools.
PRIVATE_PREFIXES = (
    "/staff",
    "/account",
    "/cart",
    "/checkout",
    "/orders/",
    "/repairs/",
    "/tryon/api",
    "/tryon/snapshots",
)
# Public pages with no parameters, listed when the feature that serves them is installed.
STATIC_PAGES = (
    "main.home",
    "catalog.index",
    "main.fit_guide",
    "booking.new_consultation",
    "main.returns_policy",
    "main.repairs_policy",
    "main.terms",
    "main.privacy_policy",
    "main.contact",
    "policies.quality",
    "policies.materials",
    "atelier.index",
)
BATCH_ENDPOINT = "batches.show"


@bp.get("/robots.txt")
def robots():
    lines = ["User-agent: *", *(f"Disallow: {prefix}" for prefix in PRIVATE_PREFIXES)]
    lines += ["", f"Sitemap: {public_url('discovery.sitemap_xml')}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


def _entry(location: str, changed=None) -> str:
    lastmod = f"<lastmod>{changed.date().isoformat()}</lastmod>" if changed else ""
    return f"<url><loc>{escape(location)}</loc>{lastmod}</url>"


@bp.get("/sitemap.xml")
def sitemap_xml():
    endpoints = current_app.view_functions
    entries = [_entry(public_url(name)) for name in STATIC_PAGES if name in endpoints]
    entries += [
        _entry(public_url("catalog.show", slug=p.key), p.changed)
        for p in sitemap.published_products()
    ]
    if BATCH_ENDPOINT in endpoints:
        entries += [
            _entry(public_url(BATCH_ENDPOINT, batch_code=b.key))
            for b in sitemap.published_batches()
        ]
    if "atelier.show" in endpoints:
        entries += [
            _entry(public_url("atelier.show", slug=p.slug), p.updated_at)
            for p in atelier.published_profiles()
        ]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "\n".join(entries)
        + "\n</urlset>\n"
    )
    return Response(body, mimetype="application/xml")
