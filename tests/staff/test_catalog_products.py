"""Staff's product pages: create, edit, preview, publish and retire, and what buyers then see."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.catalog.models import Product
from app.extensions import db
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD

LIST = "/staff/catalog/products"
CARD = 'href="/shop/celeste-tiara"'  # the piece's card in the shop
METALS = ("yellow-gold", "rose-gold", "white-gold", "platinum", "silver")


def product_form(token: str, **changes: object) -> dict[str, object]:
    """What the new-product form posts for a complete studio tiara (changes override)."""
    data: dict[str, object] = {
        "csrf_token": token,
        "save": "Save",
        "name": "Celeste Tiara",
        "slug": "celeste-tiara",
        "kind": "tiara",
        "tier": "studio",
        "summary": "A band of stars.",
        "story": "Drawn from the night sky.",
        "materials": "Recycled gold.",
        "origin": "London.",
        "finishing": "Hand-polished.",
        "certification": "Assayed in London.",
        "fit_notes": "Combs on request.",
        "metal_weight": "100",
        "default_metal": "yellow-gold",
        "bench_hours": "10",
        "bench_minutes": "30",
        "labour_rate": "90",
        "provenance": "150",
        "packaging": "40",
        "shipping": "60",
        "insurance": "1.5",
        "lead_time_weeks": "",
        "deposit_percent": "",
        "stones-0-kind": "diamond",
        "stones-0-count": "4",
        "stones-0-unit_price": "100",
        "stones-0-origin": "Lab-grown",
        "stones-0-treatment": "none",
        "stones-1-kind": "",
        "stones-1-count": "",
        "stones-1-unit_price": "",
        "stones-1-origin": "",
        "stones-1-treatment": "",
    }
    for i, code in enumerate(METALS):
        data[f"metals-{i}-code"] = code
        data[f"metals-{i}-grams"] = ""
    data["metals-0-offered"] = "y"
    data["metals-3-offered"] = "y"
    data["metals-3-grams"] = "160"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def staff(client, atelier):
    login(client, "mira@example.org", PASSWORD)
    return client


def _create(client, **changes) -> int:
    token = csrf_token(client, LIST + "/new")
    response = client.post(LIST, data=product_form(token, **changes))
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.search(r"/products/(\d+)/edit", response.location).group(1))


def _post(client, path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, LIST)})


def test_the_list_shows_every_product_with_its_status_and_actions(staff, atelier):
    html = staff.get(LIST).get_data(as_text=True)
    assert 'data-product="aurelia-test" data-status="published"' in html
    assert f"{LIST}/{atelier.studio_product_id}/edit" in html
    assert f"{LIST}/{atelier.studio_product_id}/preview" in html
    assert f"{LIST}/{atelier.studio_product_id}/retire" in html
    assert "/shop/aurelia-test" in html


def test_staff_create_a_draft_buyers_cannot_see(staff, client):
    product_id = _create(staff)
    with client.application.app_context():
        product = db.session.get(Product, product_id)
        assert (product.status, product.bench_minutes, product.insurance_bp) == ("draft", 630, 150)
        assert product.labour_rate_per_hour_minor == 9_000
        assert [(s.kind, s.count, s.unit_price_minor) for s in product.stones] == [
            ("diamond", 4, 10_000)
        ]
    edit = staff.get(f"{LIST}/{product_id}/edit").get_data(as_text=True)
    assert "saved as a draft" in edit and 'value="160"' in edit and 'value="10"' in edit
    # Buyers (and staff on the public addresses) get nothing.
    assert staff.get("/shop/celeste-tiara").status_code == 404
    assert staff.get("/shop/celeste-tiara/price.json").status_code == 404
    assert CARD not in staff.get("/shop").get_data(as_text=True)
    assert 'data-status="draft"' in staff.get(LIST).get_data(as_text=True)


def test_the_preview_is_the_product_page_with_a_banner(staff):
    product_id = _create(staff, **{"sizes": ["S", "L"]})
    page = staff.get(f"{LIST}/{product_id}/preview")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Preview — not published" in html
    assert "The maker" in html and "Celeste Tiara" in html  # the shop's own template
    assert re.findall(r'<option value="([SML])"', html) == ["S", "L"]  # only the offered sizes
    assert "inert data-preview-actions" in html
    assert f'data-price-url="{LIST}/{product_id}/preview/price.json"' in html
    price = staff.get(f"{LIST}/{product_id}/preview/price.json?size=L&metal=platinum").get_json()
    assert sum(line["amount_minor"] for line in price["lines"]) == price["total_minor"]
    assert "166.4 g" in price["lines"][0]["detail"]  # platinum's own 160 g, size L adds 4 %
    refused = staff.get(f"{LIST}/{product_id}/preview/price.json?size=M")
    assert refused.status_code == 400 and "not offered in size M" in refused.get_json()["error"]
    assert staff.get(f"{LIST}/999999/preview").status_code == 404


def test_problems_are_listed_and_named_beside_their_fields(staff):
    token = csrf_token(staff, LIST + "/new")
    response = staff.post(
        LIST,
        data=product_form(
            token,
            slug="Celeste Tiara",
            metal_weight="lots",
            default_metal="silver",
            **{"stones-1-kind": "ruby", "stones-1-unit_price": "12.345"},
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "things to put right" in html
    assert "Metal weight (grams): &#39;lots&#39; is not a number" in html
    assert "Stone 2 unit price: " in html and "decimal places" in html
    with staff.application.app_context():
        assert (
            db.session.execute(select(Product).where(Product.name == "Celeste Tiara")).first()
            is None
        )
    # The form's problems fixed, the service's rules speak, each naming its field.
    response = staff.post(
        LIST, data=product_form(token, slug="Celeste Tiara", default_metal="silver")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Slug may use only lowercase letters" in html
    assert "Default metal must be one of the metals offered" in html
    assert 'href="#slug"' in html and 'href="#default_metal"' in html
    response = staff.post(
        LIST, data=product_form(token, tier="custom", **{"stones-1-kind": "ruby"})
    )
    html = response.get_data(as_text=True)
    assert "Lead time (weeks) is required for a custom commission" in html
    assert "Stone 2 count must be 1 to" in html and 'href="#stones-1-count"' in html


def test_add_another_stone_saves_nothing_and_adds_a_row(staff):
    token = csrf_token(staff, LIST + "/new")
    data = product_form(token, add_stone="Add another stone")
    del data["save"]
    response = staff.post(LIST, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="diamond"' in html
    assert len(re.findall(r'name="stones-\d+-kind"', html)) == 3  # filled, and two empty
    assert "put right" not in html
    with staff.application.app_context():
        assert (
            db.session.execute(select(Product).where(Product.slug == "celeste-tiara")).first()
            is None
        )


def test_an_edit_reprices_and_removed_stones_go(staff):
    product_id = _create(staff)
    token = csrf_token(staff, f"{LIST}/{product_id}/edit")
    response = staff.post(
        f"{LIST}/{product_id}",
        data=product_form(
            token,
            **{"stones-0-remove": "y", "metals-3-grams": "", "sizes": ["M"], "labour_rate": "95.5"},
        ),
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    with staff.application.app_context():
        product = db.session.get(Product, product_id)
        assert product.stones == [] and [s.code for s in product.offered_sizes] == ["M"]
        assert product.labour_rate_per_hour_minor == 9_550
    price = staff.get(f"{LIST}/{product_id}/preview/price.json?metal=platinum").get_json()
    assert "100 g" in price["lines"][0]["detail"]  # back to the product's own weight


def test_publish_then_retire_then_publish_again(staff, client):
    product_id = _create(staff)
    published = _post(staff, f"{LIST}/{product_id}/publish")
    assert published.status_code == 303
    html = staff.get(LIST).get_data(as_text=True)
    assert "is published" in html and "no edition run yet" in html
    assert "No edition run yet: its page shows no numbers" in html
    assert staff.get("/shop/celeste-tiara").status_code == 200
    assert CARD in staff.get("/shop").get_data(as_text=True)
    again = _post(staff, f"{LIST}/{product_id}/publish")
    assert again.status_code == 409 and "already published" in again.get_data(as_text=True)

    assert _post(staff, f"{LIST}/{product_id}/retire").status_code == 303
    assert CARD not in staff.get("/shop").get_data(as_text=True)
    assert _post(staff, f"{LIST}/{product_id}/publish").status_code == 303
    assert CARD in staff.get("/shop").get_data(as_text=True)
    assert _post(staff, f"{LIST}/999999/retire").status_code == 404


def test_a_published_slug_is_locked_on_the_form(staff):
    product_id = _create(staff)
    _post(staff, f"{LIST}/{product_id}/publish")
    edit = staff.get(f"{LIST}/{product_id}/edit").get_data(as_text=True)
    assert re.search(r'id="slug"[^>]*readonly', edit)
    token = csrf_token(staff, f"{LIST}/{product_id}/edit")
    response = staff.post(f"{LIST}/{product_id}", data=product_form(token, slug="renamed"))
    assert response.status_code == 400
    assert "Slug cannot change once the piece has been published" in response.get_data(as_text=True)


def test_a_retired_piece_keeps_its_page_without_buttons(staff, client, atelier):
    _post(staff, f"{LIST}/{atelier.custom_product_id}/retire")
    _post(staff, f"{LIST}/{atelier.studio_product_id}/retire")
    staff.post("/account/logout", data={"csrf_token": csrf_token(staff, "/account")})
    for slug in ("aurelia-test", "bespoke-test"):
        page = client.get(f"/shop/{slug}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "is no longer offered" in html
        assert 'id="add-to-cart"' not in html
        assert "tryon-link" not in html and "Book a consultation for this piece" not in html
        assert "Preview" not in html
        assert client.get(f"/shop/{slug}/price.json").status_code == 200
    # A crafted post is refused by checkout, with the reason.
    token = csrf_token(client, "/account/login")
    response = client.post(
        "/cart/items",
        data={
            "csrf_token": token,
            "product_id": str(atelier.studio_product_id),
            "metal": "yellow-gold",
            "size": "M",
            "quantity": "1",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Aurelia Test is no longer offered" in html and "Added to your cart" not in html


def test_a_published_piece_offers_only_its_sizes_to_buyers(staff, client):
    product_id = _create(staff, sizes=["L"])
    _post(staff, f"{LIST}/{product_id}/publish")
    html = client.get("/shop/celeste-tiara").get_data(as_text=True)
    assert re.findall(r'<option value="([SML])"', html) == ["L"]
    assert client.get("/shop/celeste-tiara?size=M").status_code == 400
    response = client.get("/shop/celeste-tiara/price.json?size=S")
    assert response.status_code == 400 and "not offered in size S" in response.get_json()["error"]


def test_customers_cannot_reach_the_product_pages(client, atelier):
    login(client, "bea@example.com", PASSWORD)
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}/{atelier.studio_product_id}/preview").status_code == 403


@pytest.mark.parametrize(
    "junk",
    [
        {"stones-0-count": "9" * 30},
        {"stones-0-unit_price": "1e999999"},
        {"metals-3-grams": "NaN"},
        {"metals-3-grams": "1e30"},
        {"metals-0-code": "x" * 500},
        {"bench_hours": str(2**70)},
        {"insurance": "-0.001"},
        {"tier": "custom", "lead_time_weeks": str(2**40), "deposit_percent": "1e3"},
        {"sizes": ["XXL", "M"]},
        {"kind": "sceptre", "default_metal": "<b>"},
        {"stones-99999999999-kind": "pearl"},
    ],
)
def test_junk_in_any_row_is_a_400_naming_the_field(staff, junk):
    token = csrf_token(staff, LIST + "/new")
    response = staff.post(LIST, data=product_form(token, **junk))
    html = response.get_data(as_text=True)
    assert response.status_code in (303, 400), html
    if response.status_code == 400:
        assert "to put right" in html
