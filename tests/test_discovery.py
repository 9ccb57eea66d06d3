"""robots.txt and sitemap.xml: what crawlers may read and what the shop lists, on the public
base URL."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select

from app.catalog.models import Product
from app.common.transactions import atomic
from app.extensions import db

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _locations(client, **kwargs) -> list[str]:
    response = client.get("/sitemap.xml", **kwargs)
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    return [loc.text for loc in root.findall("s:url/s:loc", NS)]


def test_robots_keeps_private_pages_out_and_names_the_sitemap(seeded):
    seeded.config["PUBLIC_BASE_URL"] = "https://shop.example"
    body = seeded.test_client().get("/robots.txt").get_data(as_text=True)

    for prefix in ("/staff", "/account", "/cart", "/checkout"):
        assert f"Disallow: {prefix}" in body
    assert "Disallow: /shop" not in body
    assert "Sitemap: https://shop.example/sitemap.xml" in body


def test_the_sitemap_lists_published_products_only_on_the_public_base(seeded):
    seeded.config["PUBLIC_BASE_URL"] = "https://shop.example"
    with seeded.app_context(), atomic():
        aurelia = db.session.execute(
            select(Product).where(Product.slug == "aurelia-crown")
        ).scalar_one()
        aurelia.status = "draft"
        published = db.session.execute(
            select(Product.slug).where(Product.status == "published")
        ).scalars()
        published = set(published)

    locations = _locations(seeded.test_client(), headers={"Host": "evil.example"})

    assert all(loc.startswith("https://shop.example/") for loc in locations)
    listed = {loc.rsplit("/", 1)[1] for loc in locations if "/shop/" in loc}
    assert listed == published
    assert "aurelia-crown" not in listed
    assert "https://shop.example/policies/returns" in locations
    assert not any("/staff" in loc or "/account" in loc for loc in locations)


def test_the_sitemap_lists_batch_pages_and_the_published_policies(seeded):
    seeded.config["PUBLIC_BASE_URL"] = "https://shop.example"
    locations = _locations(seeded.test_client())

    assert "https://shop.example/batches/AUR-YG-2026" in locations
    assert "https://shop.example/quality" in locations
    assert "https://shop.example/policies/materials" in locations
