"""Build catalog rows directly for tests that need more (or fewer) products than the demo."""

from __future__ import annotations

from app.catalog import services
from app.catalog.models import EditionRun, FitSize, Metal, Piece, Product, ProductStone
from app.demo.seed import METALS, SIZES
from app.extensions import db


def reference_data() -> tuple[dict[str, Metal], dict[str, FitSize]]:
    metals = {m.code: m for m in services.all_metals()}
    if not metals:
        for i, (code, name, rate, swatch) in enumerate(METALS):
            metals[code] = Metal(
                code=code, name=name, rate_per_gram_minor=rate, swatch=swatch, position=i
            )
            db.session.add(metals[code])
        for i, (code, label, lo, hi, adj, permille) in enumerate(SIZES):
            db.session.add(
                FitSize(
                    code=code,
                    label=label,
                    min_circumference_mm=lo,
                    max_circumference_mm=hi,
                    adjustment_minor=adj,
                    metal_permille=permille,
                    position=i,
                )
            )
        db.session.flush()
    sizes = db.session.execute(db.select(FitSize)).scalars()
    return metals, {s.code: s for s in sizes}


def make_product(
    slug: str,
    *,
    kind: str = "crown",
    tier: str = "studio",
    metals: tuple[str, ...] = ("yellow-gold",),
    edition_size: int = 10,
    sold: int = 0,
    weight_mg: int = 100_000,
) -> Product:
    """Create a product (and, for studio pieces, one edition run per metal); commit."""
    metal_rows, _ = reference_data()
    product = Product(
        slug=slug,
        name=slug.replace("-", " ").title(),
        kind=kind,
        tier=tier,
        metal_weight_mg=weight_mg,
        bench_minutes=600,
        labour_rate_per_hour_minor=9_000,
        provenance_minor=15_000,
        packaging_minor=4_000,
        shipping_minor=6_000,
        insurance_bp=100,
        default_metal=metal_rows[metals[0]],
        lead_time_weeks=8 if tier == "custom" else None,
        deposit_percent=40 if tier == "custom" else None,
    )
    product.metals = [metal_rows[c] for c in metals]
    product.stones = [ProductStone(kind="diamond", count=4, unit_price_minor=10_000)]
    db.session.add(product)
    db.session.flush()
    if tier == "studio":
        for code in metals:
            run = EditionRun(
                product=product,
                metal=metal_rows[code],
                size=edition_size,
                batch_code=f"{slug}-{code}".upper()[:40],
            )
            db.session.add(run)
            db.session.flush()
            for n in range(1, edition_size + 1):
                db.session.add(
                    Piece(
                        run_id=run.id,
                        number=n,
                        edition_size=edition_size,
                        status="sold" if n <= sold else "available",
                    )
                )
    services.refresh_list_price(product)
    db.session.commit()
    return product
