from __future__ import annotations

import io

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


def test_the_demo_artisans_take_consultations_and_show_on_the_site(app, client, seeded):
    from app.accounts.services import authenticate
    from app.booking import services as booking
    from app.demo.artisans import DEMO_ARTISANS, seed_artisans

    with app.app_context():
        artisans = booking.bookable_artisans()
        assert [a.slug for a in artisans] == [d.slug for d in DEMO_ARTISANS]
        assert all(a.bio and a.speciality_list for a in artisans)
        assert [bool(a.meeting_link) for a in artisans] == [True, False]
        assert authenticate(email=DEMO_ARTISANS[0].email, password="!demo-artisan") is None
        assert seed_artisans(draw_pictures=False) == 0  # idempotent
    index = client.get("/atelier").get_data(as_text=True)
    form = client.get("/consultations/new").get_data(as_text=True)
    for demo in DEMO_ARTISANS:
        assert demo.name in index and f">{demo.name}</option>" in form


def test_the_demo_artisans_pictures_are_drawn_once(app_ctx):
    from PIL import Image

    from app.accounts.artisans import ArtisanProfile
    from app.common.storage import uploads_storage
    from app.common.transactions import atomic
    from app.demo.artisans import seed_artisans

    with atomic():
        assert seed_artisans(draw_pictures=False) == 2
    with atomic():
        seed_artisans(draw_pictures=True)
    profiles = list(db.session.execute(select(ArtisanProfile)).scalars())
    keys = [(p.portrait_key, p.signature_key) for p in profiles]
    for _, signature_key in keys:
        with Image.open(io.BytesIO(uploads_storage().read(signature_key))) as signature:
            assert signature.mode == "RGBA" and signature.getchannel("A").getextrema()[0] == 0
    with atomic():
        seed_artisans(draw_pictures=True)
    assert [(p.portrait_key, p.signature_key) for p in profiles] == keys
