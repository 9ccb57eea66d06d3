"""What a product page tells search engines and link previews: schema.org ``Product`` JSON-LD,
Open Graph and Twitter card tags, and the canonical URL, all on the public base URL.

The offer is the page's own price (the breakdown's total for the options shown, the same figure
``price.json`` gives) and its availability comes from the free numbered pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.catalog.models import Product
from app.catalog.services import EditionSummary, PricedOption
from app.common.links import public_url
from app.domain.money import major_text

BRAND = "Diadem Atelier"
SCHEMA = "https://schema.org/"


def availability(product: Product, editions: Sequence[EditionSummary]) -> str:
    if product.is_retired:
        return SCHEMA + "Discontinued"
    if product.is_custom:
        return SCHEMA + "MadeToOrder"
    return SCHEMA + ("InStock" if any(ed.available for ed in editions) else "SoldOut")


def image_urls(product: Product) -> list[str]:
    return [public_url("catalog.product_media", filename=image.path) for image in product.images]


def product_json_ld(
    product: Product, priced: PricedOption, editions: Sequence[EditionSummary]
) -> dict[str, Any]:
    url = public_url("catalog.show", slug=product.slug)
    total = priced.breakdown.total
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "description": product.summary or product.story[:300],
        "sku": product.slug,
        "url": url,
        "image": image_urls(product),
        "brand": {"@type": "Brand", "name": BRAND},
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": major_text(total),
            "priceCurrency": total.currency,
            "availability": availability(product, editions),
        },
    }
