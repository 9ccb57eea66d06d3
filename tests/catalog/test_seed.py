from __future__ import annotations

from sqlalchemy import func, select

from app.catalog.models import EditionRun, Metal, Piece, Product
from app.extensions import db


def counts():
    return tuple(
        db.session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (Product, EditionRun, Piece, Metal)
    )


def test_seed_is_idempotent_and_varied(app, runner):
    result = runner.invoke(args=["seed-demo", "--no-artwork"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        first = counts()
    products, runs, pieces, _ = first
    assert f"{products} new products, {runs} new edition runs, {pieces} new pieces" in result.output
    result = runner.invoke(args=["seed-demo", "--no-artwork"])
    assert "0 new products" in result.output
    with app.app_context():
        assert counts() == first
        products = list(db.session.execute(select(Product)).scalars())
        assert len(products) >= 10
        assert {p.kind for p in products} == {"crown", "tiara"}
        assert {p.tier for p in products} == {"studio", "custom"}
        assert len({m.code for p in products for m in p.metals}) >= 3
        sizes = set(db.session.execute(select(EditionRun.size)).scalars())
        assert len(sizes) >= 2
        sold_out = [
            r
            for r in db.session.execute(select(EditionRun)).scalars()
            if all(p.status == "sold" for p in r.pieces)
        ]
        assert sold_out
