"""The product page's read model shows exactly what the ORM page showed, and its free numbers
and prices are never stale: a reservation, a sale, a lapsed reservation or a rate change shows on
the next page, though a page built from kept values asks the database nothing."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask, render_template
from sqlalchemy import select, update

from app.catalog import rates, read_model, reservations, services
from app.catalog.filters import SORTS, CatalogFilter
from app.catalog.models import EditionRun, FitSize, Metal, Piece, Product, product_metals
from app.common import caching
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from tests.helpers import recorded_statements

OPTIONS = [
    (None, None),
    ("XS", "silver"),
    ("Q9", None),  # no such size
    (None, "unobtainium"),  # not made in it
]
TOTAL = re.compile(r'data-total-minor="(\d+)"')


def _vary_the_shop() -> None:
    """Give the demo shop the cases the page handles: a retired piece, sizes chosen by staff,
    grams of its own for a metal, a reserved and a lapsed piece."""
    products = db.session.execute(select(Product).order_by(Product.id)).scalars().all()
    products[1].status = "retired"
    sizes = db.session.execute(select(FitSize).order_by(FitSize.position)).scalars().all()
    products[2].offered_sizes = sizes[1:3]
    products[3].offered_sizes = [s for s in sizes if s.code != "M"]
    db.session.execute(
        update(product_metals)
        .where(product_metals.c.product_id == products[0].id)
        .values(weight_mg=123_456)
    )
    now = utcnow()
    pieces = (
        db.session.execute(
            select(Piece).where(Piece.status == "available").order_by(Piece.id).limit(2)
        )
        .scalars()
        .all()
    )
    ends = (now + timedelta(hours=1), now - timedelta(hours=1))  # held, lapsed
    for piece, until in zip(pieces, ends, strict=True):
        piece.status, piece.reserved_until = "reserved", until


def test_read_model_renders_the_orm_page_exactly(seeded: Flask):
    with seeded.app_context(), atomic():
        _vary_the_shop()
    with seeded.app_context():
        slugs = db.session.execute(select(Product.slug).order_by(Product.id)).scalars().all()
    # Every piece in its defaults; the varied ones (the first four) in every option too.
    cases = [(slug, None, None) for slug in slugs]
    cases += [(slug, *option) for slug in slugs[:4] for option in OPTIONS[1:]]
    template = "catalog/product_show.html"
    for slug, size_code, metal_code in cases:
        with seeded.test_request_context(f"/shop/{slug}"):
            product = services.get_product(slug)
            orm = services.product_page(product, size_code=size_code, metal_code=metal_code)
            read_model.page_model(slug)  # the second call reads it back from the cache
            model = read_model.page_model(slug)
            fast = read_model.product_page(model, size_code=size_code, metal_code=metal_code)
            assert fast.problem == orm.problem
            assert [(e.run.batch_code, e.available_numbers) for e in fast.editions] == [
                (e.run.batch_code, e.available_numbers) for e in orm.editions
            ]
            expected = render_template(template, **orm.context())
            assert render_template(template, **fast.context()) == expected, (slug, size_code)
    assert len(slugs) >= 10


FILTERS = [
    CatalogFilter(),
    CatalogFilter(kind="tiara", sort="price-asc"),
    CatalogFilter(tier="studio", available_only=True, sort="price-desc"),
    CatalogFilter(metal="silver"),
    CatalogFilter(min_price_minor=1_000_000, max_price_minor=4_000_000, sort="price-asc"),
    CatalogFilter(available_only=True),
]


def test_catalog_cards_render_the_orm_cards_exactly(seeded: Flask):
    with seeded.app_context(), atomic():
        _vary_the_shop()
        # A sold-out design: its card says so (and the available-only filter drops it).
        run_ids = select(EditionRun.id).join(Product).where(Product.slug == "laurel-tiara")
        db.session.execute(update(Piece).where(Piece.run_id.in_(run_ids)).values(status="sold"))
    for catalog_filter in FILTERS:
        with seeded.test_request_context("/shop"):
            context = {"f": catalog_filter, "metals": services.metal_choices(), "sorts": SORTS}
            orm = services.list_products(catalog_filter)
            read_model.catalog_cards(catalog_filter)  # the second call reads it from the cache
            fast = read_model.catalog_cards(catalog_filter)
            assert [(c.product.slug, c.available, c.in_stock) for c in fast] == [
                (c.product.slug, c.available, c.in_stock) for c in orm
            ]
            template = "catalog/product_list.html"
            expected = render_template(template, cards=orm, **context)
            assert render_template(template, cards=fast, **context) == expected, catalog_filter
    assert len(orm) >= 2


def test_a_draft_or_unknown_piece_has_no_page(app: Flask, client):
    from tests.factories import make_product

    with app.app_context():
        make_product("draft-crown").status = "draft"
        db.session.commit()
        assert read_model.page_model("draft-crown") is None
        assert read_model.page_model("no-such-crown") is None
    assert client.get("/shop/draft-crown").status_code == 404
    assert client.get("/shop/" + "x" * 200).status_code == 404


def _free_numbers_on_page(client, slug: str) -> str:
    html = client.get(f"/shop/{slug}").get_data(as_text=True)
    return " ".join(re.findall(r'<span class="piece-no">([^<]+)</span>', html))


def test_a_reservation_or_sale_takes_the_number_off_the_page_at_once(seeded: Flask):
    client = seeded.test_client()
    slug = "aurelia-crown"
    before = _free_numbers_on_page(client, slug)
    with seeded.app_context():
        product = services.get_product(slug)
        product_id, metal_id = product.id, product.default_metal_id
        generation = caching.generation()
        with atomic():
            piece = reservations.claim_free_piece(
                product_id=product_id,
                metal_id=metal_id,
                now=utcnow(),
                until=utcnow() + timedelta(minutes=30),
            )
        reserved = piece.label
    assert reserved in before.split()
    assert reserved not in _free_numbers_on_page(client, slug).split()
    # A sale written by hand, with no service telling the cache, shows as well: any committed
    # write to a piece starts a new generation (stock_watch).
    with seeded.app_context():
        assert caching.generation() != generation
        generation = caching.generation()
        run_ids = select(EditionRun.id).where(EditionRun.product_id == product_id)
        sold = (
            db.session.execute(
                select(Piece)
                .where(Piece.run_id.in_(run_ids), Piece.status == "available")
                .order_by(Piece.number)
            )
            .scalars()
            .first()
        )
        label = sold.label
        sold.status = "sold"
        db.session.commit()
        assert caching.generation() != generation
    assert label in before.split()
    assert label not in _free_numbers_on_page(client, slug).split()


def test_a_rate_change_shows_the_new_price_at_once(seeded: Flask):
    client = seeded.test_client()
    path = "/shop/aurelia-crown?size=M&metal=yellow-gold"
    old_total = int(TOTAL.findall(client.get(path).get_data(as_text=True))[-1])
    with seeded.app_context():
        rate = db.session.execute(
            select(Metal.rate_per_gram_minor).where(Metal.code == "yellow-gold")
        ).scalar_one()
        with atomic():
            rates.set_metal_rate(
                metal_code="yellow-gold", rate_per_gram_minor=rate * 2, by_user_id=None
            )
    html = client.get(path).get_data(as_text=True)
    new_total = int(TOTAL.findall(html)[-1])
    assert new_total > old_total
    with seeded.test_request_context(path):
        expected = services.price_product(
            services.get_product("aurelia-crown"), size_code="M", metal_code="yellow-gold"
        )
    assert new_total == expected.breakdown.total.minor
    price = client.get("/shop/aurelia-crown/price.json?size=M&metal=yellow-gold").get_json()
    assert price == expected.breakdown.as_dict()


def test_a_guests_pages_built_from_kept_values_ask_the_database_nothing(seeded: Flask):
    client = seeded.test_client()
    paths = ["/shop/aurelia-crown?size=M&metal=yellow-gold", "/shop", "/shop?available=1"]
    for path in paths:
        assert client.get(path).status_code == 200
    for path in paths:
        with recorded_statements(seeded) as statements:
            client.get(path)
        assert statements == [], path


def test_a_bulk_update_of_pieces_starts_a_new_generation(seeded: Flask):
    with seeded.app_context():
        generation = caching.generation()
        with atomic():
            db.session.execute(update(Piece).where(Piece.number == 1).values(status="withheld"))
        assert caching.generation() != generation
        generation = caching.generation()
        # Rolled back: nothing changed, nothing to tell.
        db.session.execute(update(Piece).where(Piece.number == 2).values(status="withheld"))
        db.session.rollback()
        assert caching.generation() == generation


def test_a_reservation_lapsing_by_the_clock_frees_its_number_on_the_next_page(
    seeded: Flask, monkeypatch
):
    client = seeded.test_client()
    slug = "aurelia-crown"
    with seeded.app_context():
        product = services.get_product(slug)
        with atomic():
            piece = reservations.claim_free_piece(
                product_id=product.id,
                metal_id=product.default_metal_id,
                now=utcnow(),
                until=utcnow() + timedelta(minutes=30),
            )
        held = piece.label
    assert held not in _free_numbers_on_page(client, slug).split()
    assert held not in _free_numbers_on_page(client, slug).split()  # from the kept snapshot
    # Half an hour later nothing has been written, but the hold is over.
    later = utcnow() + timedelta(minutes=31)
    monkeypatch.setattr(read_model, "utcnow", lambda: later)
    assert held in _free_numbers_on_page(client, slug).split()
