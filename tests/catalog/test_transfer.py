"""The catalogue as a file: export, import, round trip, refusals that change nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.catalog import transfer
from app.catalog.models import EditionRun, MetalRateChange, Piece, Product, ProductImage
from app.common import caching
from app.common.transactions import atomic
from app.extensions import db


def _export(app) -> dict[str, Any]:
    with app.app_context():
        return transfer.export_catalogue()


def _write(tmp_path: Path, document: Any, name: str = "catalogue.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def _product(document: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(p for p in document["products"] if p["slug"] == slug)


NEW_PRODUCT = {
    "slug": "ivy-circlet",
    "name": "Ivy Circlet",
    "kind": "tiara",
    "tier": "studio",
    "summary": "A slender circlet of ivy leaves.",
    "metal_weight_mg": 30_000,
    "bench_minutes": 480,
    "labour_rate_per_hour_minor": 9_500,
    "provenance_minor": 18_000,
    "packaging_minor": 4_500,
    "shipping_minor": 6_500,
    "insurance_bp": 150,
    "default_metal": "silver",
    "metals": ["silver"],
    "stones": [{"kind": "pearl", "count": 3, "unit_price_minor": 9_500}],
    "editions": [{"batch_code": "IVY-AG-2027", "metal": "silver", "size": 10}],
}


def test_export_import_export_is_identical_and_a_second_import_changes_nothing(
    seeded, runner, tmp_path
):
    out = tmp_path / "first.json"
    result = runner.invoke(args=["catalog", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    first = json.loads(out.read_text())
    assert first["format"] == "diadem-catalogue/1"
    aurelia = _product(first, "aurelia-crown")
    assert {"code": "yellow-gold", "price_per_gram_minor": 7_450}.items() <= first["metals"][
        0
    ].items()
    assert aurelia["editions"][0] == {
        "batch_code": "AUR-YG-2026",
        "metal": "yellow-gold",
        "size": 25,
        "released_on": "2026-01-15",
        "sourcing_statement": "",
    }

    result = runner.invoke(args=["catalog", "import", str(out)])
    assert result.exit_code == 0, result.output
    assert "Nothing to change" in result.output
    with seeded.app_context():
        assert db.session.execute(select(func.count(MetalRateChange.id))).scalar_one() == 0

    result = runner.invoke(args=["catalog", "export"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == first

    result = runner.invoke(args=["catalog", "import", str(out)])
    assert result.exit_code == 0 and "all" in result.output and "left alone" in result.output


def test_a_new_product_a_new_rate_and_a_changed_field_are_applied_and_reported(
    seeded, runner, tmp_path
):
    document = _export(seeded)
    with seeded.app_context():
        old_price = db.session.execute(
            select(Product.list_price_minor).where(Product.slug == "aurelia-crown")
        ).scalar_one()
        generation = caching.generation()
    document["products"].append(copy.deepcopy(NEW_PRODUCT))
    document["metals"][0]["price_per_gram_minor"] = 8_000
    _product(document, "aurelia-crown")["bench_minutes"] = 1_500

    result = runner.invoke(args=["catalog", "import", _write(tmp_path, document)])

    assert result.exit_code == 0, result.output
    assert "Created 2: product ivy-circlet, edition IVY-AG-2027" in result.output
    assert "Changed 2: metal yellow-gold, product aurelia-crown" in result.output
    with seeded.app_context():
        ivy = db.session.execute(select(Product).where(Product.slug == "ivy-circlet")).scalar_one()
        assert ivy.list_price_minor > 0
        (run,) = ivy.runs
        assert [(p.number, p.edition_size, p.status) for p in run.pieces] == [
            (n, 10, "available") for n in range(1, 11)
        ]
        (change,) = db.session.execute(select(MetalRateChange)).scalars()
        assert (change.old_rate_minor, change.new_rate_minor, change.note) == (
            7_450,
            8_000,
            "catalog import",
        )
        aurelia = db.session.execute(
            select(Product).where(Product.slug == "aurelia-crown")
        ).scalar_one()
        assert aurelia.bench_minutes == 1_500
        assert aurelia.list_price_minor > old_price
        assert caching.generation() != generation
    # What was imported is what is exported now, apart from the defaults filled in.
    after = _export(seeded)
    assert after["metals"] == document["metals"]
    assert _product(after, "aurelia-crown") == _product(document, "aurelia-crown")
    assert _product(after, "ivy-circlet")["editions"] == [
        {
            "batch_code": "IVY-AG-2027",
            "metal": "silver",
            "size": 10,
            "released_on": None,
            "sourcing_statement": "",
        }
    ]


def test_products_keep_their_pictures(seeded, runner, tmp_path):
    with seeded.app_context(), atomic():
        product = db.session.execute(
            select(Product).where(Product.slug == "marina-tiara")
        ).scalar_one()
        product.images.append(ProductImage(path="marina/catalog.png", alt="Marina"))
    document = _export(seeded)
    _product(document, "marina-tiara")["name"] = "Marina Wave Tiara"
    result = runner.invoke(args=["catalog", "import", _write(tmp_path, document)])
    assert result.exit_code == 0, result.output
    with seeded.app_context():
        product = db.session.execute(
            select(Product).where(Product.slug == "marina-tiara")
        ).scalar_one()
        assert product.name == "Marina Wave Tiara"
        assert [i.path for i in product.images] == ["marina/catalog.png"]


def _set(path: str, value: Any):
    """A change to the document: set the value at a dotted path (list indices as numbers)."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = document
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value

    return change


DELETE = object()

INVALID = [
    (
        _set("products.0.editions.1.size", 30),
        "products[0] (aurelia-crown).editions[1]: size 30 is not one of 10, 25, 50",
    ),
    (
        _set("metals.0.price_per_gram_minor", -5),
        "metals[0] (yellow-gold): price_per_gram_minor -5 is not between 1 and",
    ),
    (
        _set("products.4.metals", ["silver", "unobtainium"]),
        "products[4] (marina-tiara): metal 'unobtainium' is not a known metal",
    ),
    (
        _set("products.1.slug", "aurelia-crown"),
        "products[1] (aurelia-crown): duplicate slug 'aurelia-crown', already used by products[0]",
    ),
    (
        _set("products.1.editions.0.batch_code", "AUR-YG-2026"),
        "products[1] (seraphine-tiara).editions[0]: duplicate batch code 'AUR-YG-2026'",
    ),
    (_set("products.2.name", 42), "products[2] (laurel-tiara): name must be text, not 42"),
    (_set("products.2.metals", "rose-gold"), "products[2] (laurel-tiara): metals must be a list"),
    (
        _set("products.3.bench_minutes", DELETE),
        "products[3] (regent-crown): bench_minutes is required",
    ),
    (
        _set("products.0.stones.0.unit_price_minor", 12.5),
        "products[0] (aurelia-crown).stones[0]: unit_price_minor must be a whole number",
    ),
    (
        _set("metals.1.price_per_gram_minor", "12"),
        "metals[1] (rose-gold): price_per_gram_minor must be a whole number",
    ),
    (_set("metals.2.price_per_gram_minor", True), "metals[2] (white-gold): price_per_gram_minor"),
    (
        _set("products.0.editions.0.metal", "silver"),
        "products[0] (aurelia-crown).editions[0]: cannot change metal from yellow-gold to silver",
    ),
    (
        _set("products.2.editions.0.size", 25),
        "cannot change size from 50 to 25: 10 piece(s) of LAU-RG-2025",
    ),
    (
        _set("products.0.editions.0.batch_code", "SER-PT-2026"),
        "batch code 'SER-PT-2026' belongs to 'seraphine-tiara'",
    ),
    (_set("products.8.deposit_percent", None), "a custom piece needs lead_time_weeks"),
    (_set("products.0.kind", "hat"), "kind 'hat' is not one of crown, tiara"),
    (_set("format", "diadem-catalogue/2"), "format: must be 'diadem-catalogue/1'"),
    (_set("metals", DELETE), "document: metals is required"),
    (_set("products.0.colour", "red"), "products[0] (aurelia-crown): unknown key 'colour'"),
    (
        _set("products.0.status", "hidden"),
        "status 'hidden' is not one of draft, published, retired",
    ),
    (_set("products.0.sizes", ["XXL"]), "products[0] (aurelia-crown): size 'XXL' is not a known"),
    (_set("products.0.sizes", ["S", "S"]), "products[0] (aurelia-crown): sizes lists a size twice"),
    (
        _set("products.0.metal_weights_mg", {"rose-gold": 40_000}),
        "metal_weights_mg names 'rose-gold', not one of its metals",
    ),
    (
        _set("products.0.metal_weights_mg", {"yellow-gold": 0}),
        "metal_weights_mg['yellow-gold'] must be a positive whole number of mg",
    ),
    (_set("products.0.metal_weights_mg", [1]), "metal_weights_mg must be an object"),
]


@pytest.mark.parametrize(("change", "message"), INVALID)
def test_an_invalid_file_is_refused_with_its_rule_and_changes_nothing(
    seeded, runner, tmp_path, change, message
):
    before = _export(seeded)
    document = copy.deepcopy(before)
    change(document)
    document["products"].append(copy.deepcopy(NEW_PRODUCT))  # valid, and still not created

    result = runner.invoke(args=["catalog", "import", _write(tmp_path, document)])

    assert result.exit_code != 0
    assert message in result.output
    assert "the catalogue is unchanged" in result.output
    assert _export(seeded) == before


def test_every_problem_is_reported_not_just_the_first(seeded, runner, tmp_path):
    before = _export(seeded)
    document = copy.deepcopy(before)
    document["metals"][0]["price_per_gram_minor"] = 12.5
    document["products"][0]["editions"][1]["size"] = 30
    del document["products"][3]["name"]
    result = runner.invoke(args=["catalog", "import", _write(tmp_path, document)])
    assert result.exit_code != 0
    assert "metals[0] (yellow-gold): price_per_gram_minor must be a whole number" in result.output
    assert "products[0] (aurelia-crown).editions[1]: size 30 is not one of" in result.output
    assert "products[3] (regent-crown): name is required" in result.output
    assert _export(seeded) == before


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", '"catalogue"'])
def test_malformed_json_is_refused(seeded, runner, tmp_path, text):
    before = _export(seeded)
    result = runner.invoke(args=["catalog", "import", _write(tmp_path, text)])
    assert result.exit_code != 0
    assert "not valid JSON" in result.output or "document: must be a JSON object" in result.output
    assert _export(seeded) == before


def test_a_dry_run_reports_and_changes_nothing(seeded, runner, tmp_path):
    before = _export(seeded)
    document = copy.deepcopy(before)
    document["products"].append(copy.deepcopy(NEW_PRODUCT))
    document["metals"][4]["price_per_gram_minor"] = 150
    result = runner.invoke(args=["catalog", "import", "--dry-run", _write(tmp_path, document)])
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and "product ivy-circlet" in result.output
    assert _export(seeded) == before
    with seeded.app_context():
        assert db.session.execute(select(func.count(MetalRateChange.id))).scalar_one() == 0


def test_an_untouched_edition_may_change_size_and_metal(seeded, runner, tmp_path):
    document = _export(seeded)
    document["products"].append(copy.deepcopy(NEW_PRODUCT))
    runner.invoke(args=["catalog", "import", _write(tmp_path, document)])
    ivy = _product(document, "ivy-circlet")
    ivy["metals"] = ["silver", "platinum"]
    ivy["editions"][0].update(size=25, metal="platinum")

    result = runner.invoke(args=["catalog", "import", _write(tmp_path, document, "again.json")])

    assert result.exit_code == 0, result.output
    assert "edition IVY-AG-2027" in result.output
    with seeded.app_context():
        run = db.session.execute(
            select(EditionRun).where(EditionRun.batch_code == "IVY-AG-2027")
        ).scalar_one()
        assert (run.size, run.metal.code) == (25, "platinum")
        numbers = db.session.execute(
            select(Piece.number, Piece.edition_size).where(Piece.run_id == run.id)
        ).all()
        assert sorted(numbers) == [(n, 25) for n in range(1, 26)]


def test_the_service_never_commits(seeded):
    document = _export(seeded)
    document["products"].append(copy.deepcopy(NEW_PRODUCT))
    with seeded.app_context():
        report = transfer.apply(document)
        assert "product ivy-circlet" in report.created
        db.session.rollback()
        assert (
            db.session.execute(select(func.count(Product.id))).scalar_one()
            == len(document["products"]) - 1
        )


def test_a_piece_reserved_after_the_check_stops_the_change(seeded, monkeypatch):
    document = _export(seeded)
    document["products"].append(copy.deepcopy(NEW_PRODUCT))
    with seeded.app_context(), atomic():
        transfer.apply(document)
    _product(document, "ivy-circlet")["editions"][0]["size"] = 25
    with seeded.app_context():
        run_id = db.session.execute(
            select(EditionRun.id).where(EditionRun.batch_code == "IVY-AG-2027")
        ).scalar_one()
        with atomic():
            piece = db.session.execute(
                select(Piece).where(Piece.run_id == run_id, Piece.number == 1)
            ).scalar_one()
            piece.status = "sold"
    before = _export(seeded)
    # As if the piece were sold between validate() and the change.
    monkeypatch.setattr(transfer, "validate", lambda document: [])
    with seeded.app_context(), pytest.raises(transfer.CatalogueRefused) as refused, atomic():
        transfer.apply(document)
    assert "reserved or sold while the file was checked" in str(refused.value.problems[0])
    assert _export(seeded) == before


def test_status_sizes_grams_treatment_and_sourcing_travel_both_ways(seeded, runner, tmp_path):
    document = _export(seeded)
    aurelia = _product(document, "aurelia-crown")
    metals = aurelia["metals"]
    aurelia.update(
        status="retired",
        sizes=["S", "M"],
        metal_weights_mg={metals[-1]: 61_000},
        certification="Hallmarked at the London Assay Office.",
        fit_notes="Comb inserts for fine hair.",
    )
    aurelia["stones"][0]["treatment"] = "none"
    aurelia["editions"][0]["sourcing_statement"] = "Recycled 18k gold, refined in Sheffield."

    result = runner.invoke(args=["catalog", "import", _write(tmp_path, document)])

    assert result.exit_code == 0, result.output
    assert "product aurelia-crown" in result.output
    after = _export(seeded)
    assert _product(after, "aurelia-crown") == aurelia
    with seeded.app_context():
        product = db.session.execute(
            select(Product).where(Product.slug == "aurelia-crown")
        ).scalar_one()
        assert product.is_retired and product.retired_at is not None
    # The same file again changes nothing.
    result = runner.invoke(args=["catalog", "import", _write(tmp_path, after, "again.json")])
    assert "Nothing to change" in result.output
    assert _export(seeded) == after


def test_a_new_product_without_a_status_is_published(seeded, runner, tmp_path):
    document = _export(seeded)
    document["products"].append(copy.deepcopy(NEW_PRODUCT))

    result = runner.invoke(args=["catalog", "import", _write(tmp_path, document)])

    assert result.exit_code == 0, result.output
    with seeded.app_context():
        ivy = db.session.execute(select(Product).where(Product.slug == "ivy-circlet")).scalar_one()
        assert ivy.is_published and ivy.published_at is not None
