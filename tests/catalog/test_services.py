from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from app.catalog import services
from app.catalog.filters import CatalogFilter, parse_filter
from app.catalog.models import EditionRun, Piece
from app.extensions import db
from tests.factories import make_product


def slugs(cards):
    return [c.product.slug for c in cards]


def test_filters_by_kind_tier_metal_and_availability(seeded):
    with seeded.app_context():
        crowns = services.list_products(CatalogFilter(kind="crown"))
        assert crowns and all(c.product.kind == "crown" for c in crowns)
        custom = services.list_products(CatalogFilter(tier="custom"))
        assert custom and all(c.product.tier == "custom" for c in custom)
        silver = services.list_products(CatalogFilter(metal="silver"))
        assert "marina-tiara" in slugs(silver) and "regent-crown" not in slugs(silver)
        available = services.list_products(CatalogFilter(available_only=True))
        assert "regent-crown" not in slugs(available)  # its edition of 10 is sold out
        assert "bespoke-bridal-tiara" in slugs(available)  # custom: made to order


def test_price_range_and_sorting(seeded):
    with seeded.app_context():
        asc = services.list_products(CatalogFilter(sort="price-asc"))
        prices = [c.product.list_price_minor for c in asc]
        assert prices == sorted(prices)
        desc = services.list_products(CatalogFilter(sort="price-desc"))
        assert [c.product.list_price_minor for c in desc] == sorted(prices, reverse=True)
        lo, hi = prices[2], prices[6]
        ranged = services.list_products(CatalogFilter(min_price_minor=lo, max_price_minor=hi))
        assert ranged and all(lo <= c.product.list_price_minor <= hi for c in ranged)
        newest = services.list_products(CatalogFilter())
        dates = [c.product.created_at for c in newest]
        assert dates == sorted(dates, reverse=True)


def test_list_price_is_the_cheapest_option(seeded):
    with seeded.app_context():
        product = services.get_product("aurelia-crown")
        options = [
            services.price_product(product, size_code=s.code, metal_code=m.code).breakdown.total
            for s in services.all_sizes()
            for m in product.metals
        ]
        assert product.list_price_minor == min(o.minor for o in options)


def test_unknown_options_raise(seeded):
    with seeded.app_context():
        product = services.get_product("laurel-tiara")
        with pytest.raises(services.UnknownOption, match="not made in"):
            services.price_product(product, metal_code="platinum")
        with pytest.raises(services.UnknownOption, match="Unknown size"):
            services.price_product(product, size_code="XXL")
        with pytest.raises(services.ProductNotFound):
            services.get_product("no-such-crown")


def test_edition_summary_lists_free_numbers(seeded):
    with seeded.app_context():
        product = services.get_product("aurelia-crown")
        summary = {s.run.batch_code: s for s in services.edition_summaries(product)}
        gold = summary["AUR-YG-2026"]
        assert gold.run.size == 25
        # sold 1,2,3,5,8,13 and withheld 25
        assert gold.available == 25 - 7
        assert 4 in gold.available_numbers and 5 not in gold.available_numbers
        assert 25 not in gold.available_numbers


def test_piece_numbers_are_unique_per_run(app_ctx):
    product = make_product("twin-test", edition_size=10)
    run = db.session.execute(
        db.select(EditionRun).where(EditionRun.product_id == product.id)
    ).scalar_one()
    db.session.add(Piece(run_id=run.id, number=3, edition_size=10, status="available"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_piece_number_cannot_exceed_its_run(app_ctx):
    product = make_product("bounds-test", edition_size=10)
    run = db.session.execute(
        db.select(EditionRun).where(EditionRun.product_id == product.id)
    ).scalar_one()
    db.session.add(Piece(run_id=run.id, number=11, edition_size=10, status="available"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # nor claim a different run size than the run has
    db.session.add(Piece(run_id=run.id, number=11, edition_size=25, status="available"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_edition_size_must_be_allowed(app_ctx):
    product = make_product("size-test")
    db.session.add(
        EditionRun(
            product_id=product.id, metal_id=product.default_metal_id, size=12, batch_code="BAD-12"
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_parse_filter_ignores_nonsense_with_notices():
    f = parse_filter(
        {
            "kind": "spaceship",
            "tier": "studio",
            "metal": "unobtainium",
            "min_price": "abc",
            "max_price": "-5",
            "sort": "random",
            "availability": "maybe",
        },
        metal_codes={"silver"},
    )
    assert f.kind is None and f.tier == "studio" and f.metal is None
    assert f.min_price_minor is None and f.max_price_minor is None and f.sort == "newest"
    assert len(f.notices) == 6


def test_parse_filter_swaps_reversed_price_range():
    f = parse_filter({"min_price": "500", "max_price": "100"}, metal_codes=set())
    assert (f.min_price_minor, f.max_price_minor) == (10_000, 50_000)
    assert f.notices
