"""catalog.products_admin: drafts, the rules a product keeps, publishing and retiring, and
what they change for pricing and the shop."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select

from app.catalog import products_admin as admin
from app.catalog import services
from app.catalog.filters import CatalogFilter
from app.catalog.models import EditionRun, Product, ProductStatus, product_metals
from app.common import caching
from app.common.transactions import atomic
from app.extensions import db
from tests.factories import make_product, reference_data

DETAILS = admin.ProductDetails(
    name="Celeste Tiara",
    slug="celeste-tiara",
    kind="tiara",
    tier="studio",
    summary="A band of stars.",
    story="Drawn from the night sky.",
    materials="Recycled gold and lab-grown diamonds.",
    origin="Made in our London atelier.",
    finishing="Hand-polished, stones set by hand.",
    certification="Assayed in London.",
    fit_notes="Combs can be added.",
    metal_weight_mg=100_000,
    bench_minutes=600,
    labour_rate_per_hour_minor=9_000,
    provenance_minor=15_000,
    packaging_minor=4_000,
    shipping_minor=6_000,
    insurance_bp=100,
    default_metal="yellow-gold",
    metals=(admin.MetalOffer("yellow-gold"), admin.MetalOffer("platinum", 160_000)),
    stones=(admin.StoneLine("diamond", 4, 10_000, "Lab-grown", "none"),),
)


def details(**changes) -> admin.ProductDetails:
    return dataclasses.replace(DETAILS, **changes)


def create(**changes) -> Product:
    with atomic():
        return admin.create_product(details=details(**changes))


def problems_of(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {p.field: p.message for p in exc.value.problems}


@pytest.fixture
def atelier(app_ctx):
    reference_data()
    db.session.commit()
    return app_ctx


def test_a_new_product_is_a_draft_that_only_the_preview_finds(atelier):
    product = create()
    assert product.status == ProductStatus.DRAFT.value
    assert product.published_at is None and product.retired_at is None
    assert product.list_price_minor > 0
    listed = [c.product.slug for c in services.list_products(CatalogFilter())]
    assert "celeste-tiara" not in listed
    with pytest.raises(services.ProductNotFound):
        services.get_product("celeste-tiara")
    assert services.get_product("celeste-tiara", include_drafts=True).id == product.id
    assert admin.details_of(product) == DETAILS


def test_the_grams_of_a_metal_price_that_metal(atelier):
    product = create()
    db.session.expire_all()
    product = services.get_product("celeste-tiara", include_drafts=True)
    gold = services.price_product(product, metal_code="yellow-gold", size_code="M").breakdown
    platinum = services.price_product(product, metal_code="platinum", size_code="M").breakdown
    assert "100 g ×" in gold.lines[0].detail
    assert "160 g ×" in platinum.lines[0].detail  # its own grams, not the product's 100 g
    assert platinum.lines[0].amount.minor == 4_350 * 160
    for breakdown in (gold, platinum):
        assert sum(line.amount.minor for line in breakdown.lines) == breakdown.total.minor
    # Larger sizes add metal to each metal's own grams.
    large = services.price_product(product, metal_code="platinum", size_code="L").breakdown
    assert "166.4 g ×" in large.lines[0].detail
    # The "from" price is the cheapest of every metal and size, each with its grams.
    options = [
        services.price_product(product, metal_code=m, size_code=s).breakdown.total.minor
        for m in ("yellow-gold", "platinum")
        for s in ("S", "M", "L")
    ]
    assert product.list_price_minor == min(options)


def test_only_the_offered_sizes_are_priced_and_listed(atelier):
    product = create(size_codes=("L", "S"))
    product = services.get_product("celeste-tiara", include_drafts=True)
    assert [s.code for s in services.offered_sizes(product)] == ["S", "L"]
    # No size asked for: Standard is not offered, so the smallest offered one.
    assert services.price_product(product).size.code == "S"
    with pytest.raises(services.UnknownOption, match="not offered in size M; choose one of S, L"):
        services.price_product(product, size_code="M")
    with pytest.raises(services.UnknownOption, match="Unknown size"):
        services.price_product(product, size_code="XXL")
    cheapest = min(
        services.price_product(product, metal_code=m, size_code=s).breakdown.total.minor
        for m in ("yellow-gold", "platinum")
        for s in ("S", "L")
    )
    assert product.list_price_minor == cheapest
    page = services.product_page(product, size_code="M")
    assert page.problem and [s.code for s in page.sizes] == ["S", "L"]


def test_no_sizes_chosen_offers_every_size(atelier):
    create()
    product = services.get_product("celeste-tiara", include_drafts=True)
    assert [s.code for s in services.offered_sizes(product)] == ["S", "M", "L"]
    assert services.price_product(product).size.code == "M"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"slug": "Celeste Tiara"}, "slug", "Slug may use only lowercase letters"),
        ({"slug": "celeste--tiara"}, "slug", "single hyphens"),
        ({"slug": "-celeste"}, "slug", "single hyphens"),
        ({"slug": ""}, "slug", "Slug is required"),
        ({"slug": "a" * 81}, "slug", "Slug can be at most 80"),
        ({"name": "  "}, "name", "Name is required"),
        ({"kind": "sceptre"}, "kind", "Kind must be a crown or a tiara"),
        ({"tier": "custom"}, "lead_time_weeks", "Lead time (weeks) is required"),
        ({"tier": "custom", "lead_time_weeks": 8}, "deposit_percent", "Deposit (%) is required"),
        ({"metal_weight_mg": 0}, "metal_weight_mg", "Metal weight must be more than 0 g"),
        ({"packaging_minor": -1}, "packaging_minor", "Packaging cannot be negative"),
        ({"shipping_minor": None}, "shipping_minor", "Shipping is required"),
        ({"insurance_bp": 10_001}, "insurance_bp", "Insurance must be between 0 % and 100 %"),
        ({"default_metal": "silver"}, "default_metal", "Default metal must be one of the metals"),
        ({"metals": ()}, "metals", "Metals offered: choose at least one metal"),
        ({"metals": (admin.MetalOffer("gold-leaf"),)}, "metals", "unknown metal 'gold-leaf'"),
        (
            {"metals": (admin.MetalOffer("yellow-gold", 0),)},
            "metals",
            "Grams of 18k yellow gold must be more than 0 g",
        ),
        ({"size_codes": ("XXL",)}, "sizes", "Sizes offered: unknown size 'XXL'"),
        (
            {"stones": (admin.StoneLine("", 0, None),)},
            "stones",
            "Stone 1 unit price is required",
        ),
    ],
)
def test_each_rule_names_its_field(atelier, changes, field, message):
    with pytest.raises(admin.ProductError) as exc:
        create(**changes)
    found = problems_of(exc)
    assert field in found and message in found[field], found
    assert message in str(exc.value) or len(exc.value.problems) > 3
    assert db.session.execute(select(Product.id)).first() is None


def test_a_partial_stone_row_names_the_stone_and_its_figure(atelier):
    with pytest.raises(admin.ProductError) as exc:
        create(stones=(DETAILS.stones[0], admin.StoneLine("ruby", None, 5_000)))
    (problem,) = exc.value.problems
    assert (problem.row, problem.part) == (1, "count")
    assert problem.message.startswith("Stone 2 count must be 1 to")


def test_a_slug_is_unique(atelier):
    create()
    with pytest.raises(admin.ProductError, match="Slug 'celeste-tiara' is already used"):
        create(name="Another")


def test_a_slug_taken_between_the_check_and_the_save_is_refused_cleanly(atelier, monkeypatch):
    create()
    monkeypatch.setattr(admin, "_slug_problems", lambda details, product: [])
    with atomic():
        with pytest.raises(admin.ProductError, match="was just taken") as exc:
            admin.create_product(details=details(name="Another"))
        assert problems_of(exc)["slug"]
        # The outer transaction is still usable (the savepoint took the failure).
        assert db.session.execute(select(Product.slug)).scalars().all() == ["celeste-tiara"]


def test_commission_terms_belong_to_custom_pieces_only(atelier):
    studio = create(lead_time_weeks=8, deposit_percent=40)
    assert (studio.lead_time_weeks, studio.deposit_percent) == (None, None)
    custom = create(slug="bespoke", tier="custom", lead_time_weeks=10, deposit_percent=30)
    assert (custom.lead_time_weeks, custom.deposit_percent) == (10, 30)


def test_an_edit_replaces_stones_metals_sizes_and_reprices(atelier):
    product = create(size_codes=("M",))
    before = product.list_price_minor
    with atomic():
        admin.update_product(
            product_id=product.id,
            details=details(
                metal_weight_mg=120_000,
                metals=(admin.MetalOffer("platinum"), admin.MetalOffer("silver", 90_000)),
                default_metal="silver",
                size_codes=(),
                stones=(admin.StoneLine("pearl", 9, 2_500, "Freshwater", "bleached"),),
            ),
        )
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert [m.code for m in product.metals] == ["platinum", "silver"]
    assert product.default_metal.code == "silver"
    assert product.offered_sizes == []
    assert [(s.kind, s.count, s.treatment) for s in product.stones] == [("pearl", 9, "bleached")]
    weights = dict(
        db.session.execute(
            select(product_metals.c.metal_id, product_metals.c.weight_mg).where(
                product_metals.c.product_id == product.id
            )
        ).all()
    )
    metals, _ = reference_data()
    assert weights == {metals["platinum"].id: None, metals["silver"].id: 90_000}
    assert product.list_price_minor != before
    options = services.product_options(product)
    assert options.metal_weights_mg == {metals["silver"].id: 90_000}


def test_publish_retire_and_publish_again(atelier):
    product = create()
    with atomic():
        changed = admin.publish_product(product_id=product.id)
    assert "no edition run yet" in changed.note
    assert product.status == "published" and product.published_at is not None
    listed = [c.product.slug for c in services.list_products(CatalogFilter())]
    assert "celeste-tiara" in listed
    with atomic():
        admin.retire_product(product_id=product.id)
    assert product.status == "retired" and product.retired_at is not None
    assert "celeste-tiara" not in [c.product.slug for c in services.list_products(CatalogFilter())]
    assert services.get_product("celeste-tiara").is_retired  # its page stays
    with atomic():
        again = admin.publish_product(product_id=product.id)
    assert product.status == "published" and product.retired_at is None
    assert "no edition run yet" in again.note


def test_publishing_a_studio_piece_with_a_run_says_nothing_more(atelier):
    product = create()
    metals, _ = reference_data()
    db.session.add(
        EditionRun(product=product, metal=metals["yellow-gold"], batch_code="CEL-1", size=10)
    )
    db.session.commit()
    with atomic():
        assert admin.publish_product(product_id=product.id).note == ""


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("published", admin.publish_product, "already published"),
        ("draft", admin.retire_product, "is a draft: it is not on sale"),
        ("retired", admin.retire_product, "already retired"),
    ],
)
def test_the_transition_table_refuses_the_rest(atelier, status, action, message):
    product = create()
    product.status = status
    db.session.commit()
    with pytest.raises(admin.ProductError, match=message), atomic():
        action(product_id=product.id)
    with pytest.raises(admin.ProductNotFound):
        admin.publish_product(product_id=999_999)


def test_every_status_and_action_is_in_the_table_or_refused_with_a_reason():
    for status in ProductStatus:
        for action in admin.ProductAction:
            assert (status, action) in admin.TRANSITIONS or (status, action) in admin.REFUSALS


def test_a_published_piece_keeps_its_slug_and_tier(atelier):
    product = create()
    with atomic():
        admin.publish_product(product_id=product.id)
    with pytest.raises(admin.ProductError) as exc, atomic():
        admin.update_product(
            product_id=product.id,
            details=details(slug="celeste", tier="custom", lead_time_weeks=8, deposit_percent=40),
        )
    found = problems_of(exc)
    assert "/shop/celeste-tiara" in found["slug"]
    assert "Tier cannot change once the piece has been published" in found["tier"]
    # A draft's slug may still change.
    draft = create(slug="draft-piece")
    with atomic():
        admin.update_product(product_id=draft.id, details=details(slug="renamed-piece"))
    assert draft.slug == "renamed-piece"


def test_a_metal_with_an_edition_run_stays_offered(atelier):
    product = make_product("runs-test", metals=("yellow-gold", "silver"))
    data = dataclasses.replace(admin.details_of(product), metals=(admin.MetalOffer("yellow-gold"),))
    with pytest.raises(admin.ProductError, match="Sterling silver cannot be dropped") as exc:
        admin.update_product(product_id=product.id, details=data)
    assert "RUNS-TEST-SILVER" in problems_of(exc)["metals"]


def test_changes_guests_can_see_refresh_the_page_cache(atelier):
    product = create()
    generation = caching.generation()
    with atomic():
        admin.update_product(product_id=product.id, details=details(summary="Still a draft."))
    assert caching.generation() == generation  # a draft is nobody's page yet
    for step in (
        lambda: admin.publish_product(product_id=product.id),
        lambda: admin.update_product(product_id=product.id, details=details(summary="New.")),
        lambda: admin.retire_product(product_id=product.id),
    ):
        with atomic():
            step()
        assert caching.generation() != generation
        generation = caching.generation()


def test_the_staff_list_shows_every_product_drafts_first(atelier):
    make_product("old-crown")
    create()
    rows = admin.product_rows()
    assert [(r.product.slug, r.product.status) for r in rows] == [
        ("celeste-tiara", "draft"),
        ("old-crown", "published"),
    ]
    assert rows[0].awaits_edition and not rows[1].awaits_edition
    assert rows[1].edition_runs == 1


def test_details_round_trip_through_the_form_data(atelier):
    from app.staff.catalog_product_forms import form_data

    product = create(size_codes=("S",))
    data = form_data(admin.details_of(product), services.all_metals())
    assert data["metal_weight"] == 100_000 and data["bench_hours"] == 10
    assert [m["code"] for m in data["metals"] if m["offered"]] == ["yellow-gold", "platinum"]
    assert re.fullmatch(r"[a-z-]+", data["slug"])
