"""Product pages describe themselves for search engines and link previews: schema.org Product
JSON-LD whose offer matches price.json and the free pieces, Open Graph and Twitter tags, and a
canonical URL, all on the public base URL."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from app.catalog.models import Piece, Product, ProductImage
from app.common import caching
from app.common.transactions import atomic
from app.extensions import db

BASE = "https://shop.example"
LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


@pytest.fixture
def shop(seeded):
    seeded.config["PUBLIC_BASE_URL"] = BASE
    with seeded.app_context(), atomic():
        product = db.session.execute(
            select(Product).where(Product.slug == "aurelia-crown")
        ).scalar_one()
        if not product.images:  # the demo without its drawn artwork has no pictures
            product.images.append(
                ProductImage(path="aurelia-crown/front.jpg", alt="Aurelia Crown", position=0)
            )
    return seeded


def _ld(html: str) -> dict:
    (block,) = LD.findall(html)
    return json.loads(block)


def _meta(html: str, attribute: str, name: str) -> str:
    return re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"', html).group(1)


def test_the_offer_is_the_price_json_total_and_the_links_are_public(shop):
    client = shop.test_client()
    html = client.get("/shop/aurelia-crown", headers={"Host": "evil.example"}).get_data(True)
    price = client.get("/shop/aurelia-crown/price.json").get_json()
    data = _ld(html)

    assert data["@type"] == "Product" and data["name"] == "Aurelia Crown"
    assert data["brand"]["name"] == "Diadem Atelier"
    offer = data["offers"]
    assert Decimal(offer["price"]) * 100 == price["total_minor"]
    assert offer["priceCurrency"] == price["currency"]
    assert offer["availability"] == "https://schema.org/InStock"
    assert data["url"] == f"{BASE}/shop/aurelia-crown"
    assert data["image"] and all(url.startswith(f"{BASE}/media/products/") for url in data["image"])
    assert f'<link rel="canonical" href="{BASE}/shop/aurelia-crown">' in html
    assert _meta(html, "property", "og:image") == data["image"][0]
    assert _meta(html, "property", "og:type") == "product"
    assert _meta(html, "name", "twitter:card") == "summary_large_image"
    assert "evil.example" not in html


def test_availability_follows_the_pieces_and_the_tier(shop):
    client = shop.test_client()
    custom = _ld(client.get("/shop/bespoke-bridal-tiara").get_data(True))
    assert custom["offers"]["availability"] == "https://schema.org/MadeToOrder"
    with shop.app_context(), atomic():
        product = db.session.execute(
            select(Product).where(Product.slug == "aurelia-crown")
        ).scalar_one()
        run_ids = [run.id for run in product.runs]
        db.session.execute(update(Piece).where(Piece.run_id.in_(run_ids)).values(status="sold"))
    sold_out = _ld(client.get("/shop/aurelia-crown").get_data(True))
    assert sold_out["offers"]["availability"] == "https://schema.org/SoldOut"
    with shop.app_context(), atomic():
        db.session.execute(
            update(Product).where(Product.slug == "aurelia-crown").values(status="retired")
        )
        caching.catalogue_changed()  # as retiring through products_admin does
    retired = _ld(client.get("/shop/aurelia-crown").get_data(True))
    assert retired["offers"]["availability"] == "https://schema.org/Discontinued"


def test_a_summary_cannot_break_out_of_the_script(shop):
    with shop.app_context(), atomic():
        db.session.execute(
            update(Product)
            .where(Product.slug == "aurelia-crown")
            .values(summary='</script><script>alert("x")</script>')
        )
    html = shop.test_client().get("/shop/aurelia-crown").get_data(True)
    assert _ld(html)["description"] == '</script><script>alert("x")</script>'
    assert '<script>alert("x")' not in html
