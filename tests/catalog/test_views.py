from __future__ import annotations

import re

from sqlalchemy import event

from app.catalog.models import Metal
from app.common.caching import bump_generation, catalogue_changed
from app.extensions import db
from tests.factories import make_product


def test_catalog_lists_and_filters(seeded, client):
    page = client.get("/shop?kind=tiara&tier=studio")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Seraphine Tiara" in html and "Aurelia Crown" not in html


def test_nonsense_filters_are_ignored_with_a_notice(seeded, client):
    page = client.get("/shop?kind=%3Cscript%3E&min_price=lots&sort=chaos")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ignored the unknown kind" in html
    assert "<script>" not in html  # echoed back escaped
    assert "Aurelia Crown" in html  # the filter was dropped, not applied


def test_product_page_shows_breakdown_summing_to_total(seeded, client):
    page = client.get("/shop/aurelia-crown?size=L&metal=silver")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    amounts = [int(x) for x in re.findall(r'data-amount-minor="(-?\d+)"', html)]
    total = int(re.search(r'data-total-minor="(\d+)"', html).group(1))
    assert len(amounts) >= 6 and sum(amounts) == total
    assert "Edition of 25 · 18 available" in html
    assert "Edition of 50 · 47 available" in html
    assert "04/25" in html and "05/25" not in html
    assert "The maker&#39;s story" in html or "The maker's story" in html


def test_custom_product_shows_terms(seeded, client):
    html = client.get("/shop/bespoke-bridal-tiara").get_data(as_text=True)
    assert "Starting at" in html and "40% deposit" in html
    # The timing comes from the bench queue (the delivery window), not the fixed lead time.
    assert "10 weeks" not in html
    assert re.search(r"Ready in \d+–\d+ weeks", html)
    assert "data-headline-total" in html


def test_price_json_matches_contract(seeded, client):
    response = client.get("/shop/aurelia-crown/price.json?size=S&metal=yellow-gold")
    assert response.status_code == 200
    data = response.get_json()
    assert data["currency"] == "USD"
    assert set(data) == {"currency", "lines", "total_minor"}
    assert all(set(line) == {"label", "detail", "amount_minor"} for line in data["lines"])
    assert sum(line["amount_minor"] for line in data["lines"]) == data["total_minor"]
    labels = [line["label"] for line in data["lines"]]
    assert labels[0].startswith("Metal") and labels[-1] == "Packaging and insured shipping"


def test_price_json_changes_with_options(seeded, client):
    small = client.get("/shop/aurelia-crown/price.json?size=S&metal=yellow-gold").get_json()
    silver = client.get("/shop/aurelia-crown/price.json?size=S&metal=silver").get_json()
    assert silver["total_minor"] < small["total_minor"]


def test_unknown_option_is_400_with_message(seeded, client):
    response = client.get("/shop/aurelia-crown/price.json?size=XXL")
    assert response.status_code == 400
    assert "Unknown size" in response.get_json()["error"]
    assert "total_minor" not in response.get_json()
    response = client.get("/shop/aurelia-crown/price.json?metal=platinum")
    assert response.status_code == 400 and "not made in" in response.get_json()["error"]
    page = client.get("/shop/aurelia-crown?metal=platinum")
    assert page.status_code == 400 and "not made in" in page.get_data(as_text=True)


def test_unknown_slug_is_404_page(seeded, client):
    response = client.get("/shop/no-such-crown")
    assert response.status_code == 404
    assert "could not find" in response.get_data(as_text=True)
    assert client.get("/shop/no-such-crown/price.json").status_code == 404


def test_media_cannot_escape_its_folder(seeded, client):
    assert client.get("/media/products/../../secret_key").status_code == 404
    assert client.get("/media/products/%2e%2e/%2e%2e/secret_key").status_code == 404


def _count_queries(app, client, path):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_catalog_query_count_does_not_grow_with_products(app, client):
    with app.app_context():
        for i in range(5):
            make_product(f"piece-{i}", metals=("yellow-gold", "silver"))
    client.get("/shop")  # warm: the metal filter's choices are kept for the generation
    five = _count_queries(app, client, "/shop")
    with app.app_context():
        for i in range(5, 50):
            make_product(
                f"piece-{i}",
                tier="custom" if i % 3 == 0 else "studio",
                metals=("yellow-gold", "silver"),
            )
        bump_generation()  # as a catalogue import does: the listing is read afresh
    client.get("/shop")
    fifty = _count_queries(app, client, "/shop")
    assert five == fifty
    assert "Piece 49" in client.get("/shop").get_data(as_text=True)


def test_home_page(seeded, client):
    html = client.get("/").get_data(as_text=True)
    assert "Shop the collection" in html and "Solstice Tiara" in html


def test_catalog_metal_filter_shows_a_new_metal_at_once(app, client):
    with app.app_context():
        make_product("piece-0", metals=("yellow-gold",))
    assert 'value="titanium"' not in client.get("/shop").get_data(as_text=True)  # now kept
    with app.app_context():
        db.session.add(
            Metal(
                code="titanium", name="Titanium", rate_per_gram_minor=90, swatch="#888", position=9
            )
        )
        db.session.commit()
        catalogue_changed()  # as the catalogue import does when it adds a metal
    assert 'value="titanium"' in client.get("/shop").get_data(as_text=True)
