"""The demo atelier: metals, sizes, a dozen crowns and tiaras with artwork, editions and pieces,
and two artisans who take consultations (app.demo.artisans).

Seeding is idempotent: rows are found by their natural keys (metal code, size code, product slug,
batch code) and artwork files are only drawn when missing, so running it twice adds nothing.
Artwork goes to the app's media storage (MEDIA_ROOT/products on disk, or the bucket).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.booking.services.settings import get_settings
from app.catalog import editions, services
from app.catalog.models import (
    EditionRun,
    FitSize,
    Metal,
    Overlay,
    Piece,
    PieceStatus,
    Product,
    ProductImage,
    ProductStone,
)
from app.common.storage import LocalStorage, Storage, media_storage
from app.common.transactions import atomic
from app.demo.artisans import seed_artisans
from app.extensions import db
from app.staff.policies import ensure_default_policies

METALS = [
    # code, name, rate per gram (minor units), swatch
    ("yellow-gold", "18k yellow gold", 7_450, "#d4a72c"),
    ("rose-gold", "18k rose gold", 7_380, "#d48c6e"),
    ("white-gold", "18k white gold", 7_690, "#dcdcd6"),
    ("platinum", "Platinum 950", 4_350, "#c9ccd1"),
    ("silver", "Sterling silver", 145, "#c0c4c8"),
]

SIZES = [
    # code, label, min mm, max mm, adjustment minor, extra metal permille
    ("S", "Petite", 520, 545, 3_500, 0),
    ("M", "Standard", 545, 570, 0, 0),
    ("L", "Generous", 570, 600, 4_500, 40),
]

STONE_COLOURS = {
    "diamond": "diamond",
    "ruby": "ruby",
    "sapphire": "sapphire",
    "emerald": "emerald",
    "pearl": "pearl",
    "amethyst": "amethyst",
}


@dataclass(frozen=True)
class Run:
    metal: str
    size: int
    batch: str
    sold: tuple[int, ...] = ()
    withheld: tuple[int, ...] = ()


@dataclass(frozen=True)
class DemoProduct:
    slug: str
    name: str
    kind: str
    tier: str
    style: str
    metals: tuple[str, ...]
    weight_mg: int
    bench_minutes: int
    stones: tuple[tuple[str, int, int, str], ...]  # kind, count, unit price minor, origin
    width_mm: float
    summary: str
    story: str
    materials: str
    origin: str
    finishing: str
    runs: tuple[Run, ...] = ()
    lead_time_weeks: int | None = None
    deposit_percent: int | None = None
    age_days: int = 0
    labour_rate_minor: int = 9_500
    provenance_minor: int = 18_000
    packaging_minor: int = 4_500
    shipping_minor: int = 6_500
    insurance_bp: int = 150
    extra: dict = field(default_factory=dict)


PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct(
        slug="aurelia-crown",
        name="Aurelia Crown",
        kind="crown",
        tier="studio",
        style="fleur",
        metals=("yellow-gold", "silver"),
        weight_mg=182_000,
        bench_minutes=1_260,
        stones=(
            ("diamond", 12, 42_000, "Lab-grown, Antwerp-cut"),
            ("ruby", 5, 36_000, "Mozambique, heated"),
        ),
        width_mm=162.0,
        age_days=3,
        summary="Four fleurs-de-lis over a jewelled band: the atelier's signature coronation crown.",
        story="Aurelia began as a sketch of a fourteenth-century reliquary crown. Each fleur is sawn by hand "
        "from sheet, chased from the back and soldered to a band set with alternating rubies and diamonds.",
        materials="Recycled 18k yellow gold or sterling silver; lab-grown diamonds; Mozambique rubies.",
        origin="Designed and made in the Diadem atelier, London; gold refined from recycled sources.",
        finishing="Hand-chased fleurs, bright-cut band edges, stones set in hand-raised collets.",
        runs=(
            Run("yellow-gold", 25, "AUR-YG-2026", sold=(1, 2, 3, 5, 8, 13), withheld=(25,)),
            Run("silver", 50, "AUR-AG-2026", sold=(1, 2, 4)),
        ),
    ),
    DemoProduct(
        slug="seraphine-tiara",
        name="Seraphine Tiara",
        kind="tiara",
        tier="studio",
        style="halo",
        metals=("white-gold", "platinum"),
        weight_mg=64_000,
        bench_minutes=960,
        stones=(
            ("diamond", 38, 18_500, "Lab-grown, brilliant cut"),
            ("pearl", 7, 9_500, "Akoya, Japan"),
        ),
        width_mm=134.0,
        age_days=10,
        summary="A halo of graduated diamonds with Akoya pearls at its peak.",
        story="Seraphine's halo is built from a single forged wire, bent over a wooden former and "
        "pierced by hand for each of its thirty-eight diamonds.",
        materials="18k white gold or platinum 950; lab-grown diamonds; Akoya pearls.",
        origin="Made in London; pearls from a family farm in Ise Bay, Japan.",
        finishing="Mirror polish inside and out, millegrain borders, hand-knotted pearl drops.",
        runs=(
            Run("white-gold", 25, "SER-WG-2026", sold=tuple(range(1, 19))),
            Run("platinum", 10, "SER-PT-2026", sold=(1, 2, 3, 4, 5, 6, 7, 8)),
        ),
    ),
    DemoProduct(
        slug="laurel-tiara",
        name="Laurel Tiara",
        kind="tiara",
        tier="studio",
        style="laurel",
        metals=("rose-gold",),
        weight_mg=48_000,
        bench_minutes=720,
        stones=(("diamond", 14, 12_000, "Recycled, old European cut"),),
        width_mm=128.0,
        age_days=21,
        summary="Two laurel branches meeting at the brow, each leaf veined by hand.",
        story="Every leaf of the Laurel Tiara is cut, domed and veined with a single engraver's line.",
        materials="Recycled 18k rose gold; recycled old-cut diamonds.",
        origin="Made in London from reclaimed gold and stones.",
        finishing="Hand-engraved leaf veins, satin-brushed leaves with polished edges.",
        runs=(Run("rose-gold", 50, "LAU-RG-2025", sold=(1, 2, 3, 4, 6, 7, 9, 10, 11, 15)),),
    ),
    DemoProduct(
        slug="regent-crown",
        name="Regent Crown",
        kind="crown",
        tier="studio",
        style="arch",
        metals=("yellow-gold",),
        weight_mg=296_000,
        bench_minutes=2_400,
        stones=(("ruby", 18, 38_000, "Burma, unheated"), ("pearl", 16, 8_000, "South Sea")),
        width_mm=172.0,
        age_days=60,
        summary="Arched state crown with a cross-and-orb finial. The edition is sold out.",
        story="The Regent's four arches are raised from sheet and rise to a hand-turned orb.",
        materials="Recycled 18k yellow gold; unheated rubies; South Sea pearls.",
        origin="Made in London; rubies with origin reports from an independent laboratory.",
        finishing="Raised arches, ermine-effect velvet cap, hand-set pearls along each arch.",
        runs=(Run("yellow-gold", 10, "REG-YG-2025", sold=tuple(range(1, 11))),),
    ),
    DemoProduct(
        slug="marina-tiara",
        name="Marina Tiara",
        kind="tiara",
        tier="studio",
        style="wave",
        metals=("silver",),
        weight_mg=58_000,
        bench_minutes=540,
        stones=(("sapphire", 9, 14_000, "Sri Lanka"),),
        width_mm=130.0,
        age_days=7,
        summary="Rolling waves in sterling silver, crested with Ceylon sapphires.",
        story="Marina's waves are forged from square wire and twisted while hot, so no two crests match.",
        materials="Sterling silver with rhodium finish; Ceylon sapphires.",
        origin="Made in London; sapphires cut in Ratnapura, Sri Lanka.",
        finishing="Forged and twisted wire, rhodium plated against tarnish.",
        runs=(Run("silver", 50, "MAR-AG-2026", sold=(1, 2)),),
    ),
    DemoProduct(
        slug="solstice-tiara",
        name="Solstice Tiara",
        kind="tiara",
        tier="studio",
        style="sunburst",
        metals=("yellow-gold",),
        weight_mg=72_000,
        bench_minutes=840,
        stones=(("diamond", 25, 16_000, "Lab-grown"), ("emerald", 1, 210_000, "Colombia")),
        width_mm=138.0,
        age_days=1,
        summary="A sunburst of gold rays around a Colombian emerald.",
        story="Solstice's rays are each filed to a knife edge so they catch light from every angle.",
        materials="Recycled 18k yellow gold; lab-grown diamonds; a Colombian emerald.",
        origin="Made in London; the emerald comes with a Gübelin origin report.",
        finishing="Knife-edge rays, polished to a mirror, emerald in a six-claw basket.",
        runs=(
            Run(
                "yellow-gold",
                25,
                "SOL-YG-2026",
                sold=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 17, 18, 19, 20, 21, 22, 24),
            ),
        ),
    ),
    DemoProduct(
        slug="emeraude-coronet",
        name="Émeraude Coronet",
        kind="crown",
        tier="studio",
        style="coronet",
        metals=("white-gold",),
        weight_mg=118_000,
        bench_minutes=1_080,
        stones=(("emerald", 8, 45_000, "Zambia"), ("diamond", 24, 9_000, "Lab-grown")),
        width_mm=150.0,
        age_days=14,
        summary="A low coronet of emeralds and diamonds, light enough to wear all evening.",
        story="The Émeraude is a coronet in the Edwardian manner: a low crown of alternating peaks and lilies.",
        materials="18k white gold; Zambian emeralds; lab-grown diamonds.",
        origin="Made in London; emeralds from a certified Zambian cooperative.",
        finishing="Pierced gallery, millegrain edges, rhodium-bright polish.",
        runs=(Run("white-gold", 25, "EME-WG-2026", sold=(1, 2, 3)),),
    ),
    DemoProduct(
        slug="amethyst-spire-crown",
        name="Amethyst Spire Crown",
        kind="crown",
        tier="studio",
        style="spire",
        metals=("silver",),
        weight_mg=140_000,
        bench_minutes=660,
        stones=(("amethyst", 10, 6_500, "Uruguay"),),
        width_mm=158.0,
        age_days=30,
        summary="Tall silver spires tipped with Uruguayan amethysts: a pageant favourite.",
        story="Spire crowns are built for stages: tall, bright and light enough for a long evening.",
        materials="Sterling silver, rhodium finish; Uruguayan amethysts.",
        origin="Made in London; amethysts from Artigas, Uruguay.",
        finishing="Hand-pierced spires, high polish, stones in hand-made cups.",
        runs=(Run("silver", 10, "AMS-AG-2026", sold=(1, 2, 3, 4, 5, 6)),),
    ),
    DemoProduct(
        slug="bespoke-bridal-tiara",
        name="Bespoke Bridal Tiara",
        kind="tiara",
        tier="custom",
        style="halo",
        metals=("white-gold", "platinum", "rose-gold", "yellow-gold"),
        weight_mg=60_000,
        bench_minutes=1_500,
        stones=(("diamond", 30, 18_000, "Lab-grown or recycled, your choice"),),
        width_mm=132.0,
        lead_time_weeks=10,
        deposit_percent=40,
        age_days=5,
        summary="A tiara designed with you for your wedding day, from sketch to fitting.",
        story="We start with your dress, your hair and the day; you approve a CAD render and then the "
        "hand-finished piece before it is polished and set.",
        materials="Your choice of metal and stones; recycled gold as standard.",
        origin="Designed with you and made in London.",
        finishing="Hand-finished to your approved proof; engraved inside with your date.",
    ),
    DemoProduct(
        slug="pageant-queen-crown",
        name="Pageant Queen Crown",
        kind="crown",
        tier="custom",
        style="spire",
        metals=("silver", "white-gold", "yellow-gold"),
        weight_mg=150_000,
        bench_minutes=1_800,
        stones=(("sapphire", 12, 12_000, "Sri Lanka"), ("diamond", 20, 9_000, "Lab-grown")),
        width_mm=160.0,
        lead_time_weeks=8,
        deposit_percent=30,
        age_days=12,
        summary="A title crown made for your pageant, with your colours and emblem.",
        story="Title crowns are made to be seen from the back row: we scale every spire to the stage.",
        materials="Sterling silver or gold; stones to your colours.",
        origin="Designed and made in London.",
        finishing="High-polish spires, engraved title plate on the band.",
    ),
    DemoProduct(
        slug="heirloom-coronation-crown",
        name="Heirloom Coronation Crown",
        kind="crown",
        tier="custom",
        style="arch",
        metals=("yellow-gold", "platinum"),
        weight_mg=320_000,
        bench_minutes=3_600,
        stones=(("ruby", 20, 38_000, "Burma"), ("diamond", 40, 20_000, "Recycled")),
        width_mm=175.0,
        lead_time_weeks=16,
        deposit_percent=50,
        age_days=45,
        summary="A full arched crown for a collection or a ceremony, made once.",
        story="Our largest commission: a crown to be handed down, with a provenance passport from the first sketch.",
        materials="18k gold or platinum; stones with origin reports.",
        origin="Designed and made in London.",
        finishing="Raised arches, velvet cap, every stone hand-set under the microscope.",
    ),
    DemoProduct(
        slug="garden-laurel-commission",
        name="Garden Laurel Commission",
        kind="tiara",
        tier="custom",
        style="laurel",
        metals=("rose-gold", "yellow-gold"),
        weight_mg=52_000,
        bench_minutes=1_200,
        stones=(("pearl", 9, 9_500, "Akoya"),),
        width_mm=126.0,
        lead_time_weeks=8,
        deposit_percent=35,
        age_days=20,
        summary="Laurel, olive or myrtle leaves from your own garden, cast and finished as a tiara.",
        story="Send us leaves from a garden that matters to you; we cast them and build them into a tiara.",
        materials="Recycled 18k rose or yellow gold; Akoya pearls.",
        origin="Made in London from your leaves.",
        finishing="Lost-wax cast leaves, hand-chased veins, pearls wired by hand.",
    ),
)

SEED_EPOCH = datetime(2026, 11, 1, 9, 0, 0)
# The demo studio's video room (.test never resolves): video consultations need a link.
DEMO_MEETING_LINK = "https://meet.diadem.test/atelier"


def _stone_for_art(product: DemoProduct) -> tuple[str, int]:
    if not product.stones:
        return "none", 0
    kind, count, _, _ = max(product.stones, key=lambda s: s[1])
    return STONE_COLOURS.get(kind, "diamond"), min(count, 40)


def _draw_artwork(product: DemoProduct, metal: str, media: Storage) -> tuple[str, str, dict]:
    """Draw (once) the catalog picture and try-on overlay of a product in a metal."""
    import json

    from app.demo import artwork

    catalog_name = f"{product.slug}/catalog-{metal}.png"
    overlay_name = f"{product.slug}/overlay-{metal}.png"
    spec_name = f"{product.slug}/overlay-{metal}.json"
    stone, count = _stone_for_art(product)
    design = artwork.PieceDesign(
        kind=product.kind,
        metal=metal,
        style=product.style,
        stone_colour=stone,
        stone_count=count,
        width_mm=product.width_mm,
        seed=sum(map(ord, product.slug)) % 97,
    )
    if not media.exists(catalog_name):
        png = artwork.png_bytes(artwork.render_catalog_image(design))
        media.put(catalog_name, png, content_type="image/png")
    if not media.exists(overlay_name) or not media.exists(spec_name):
        image, spec = artwork.render_overlay(design)
        media.put(overlay_name, artwork.png_bytes(image), content_type="image/png")
        media.put(spec_name, json.dumps(spec).encode(), content_type="application/json")
    spec = json.loads(media.read(spec_name))
    return catalog_name, overlay_name, spec


@dataclass
class SeedReport:
    products_created: int = 0
    runs_created: int = 0
    pieces_created: int = 0
    artisans_created: int = 0


def _upsert_reference_data() -> tuple[dict[str, Metal], dict[str, FitSize]]:
    metals = {m.code: m for m in services.all_metals()}
    for position, (code, name, rate, swatch) in enumerate(METALS):
        if code not in metals:
            metals[code] = Metal(
                code=code, name=name, rate_per_gram_minor=rate, swatch=swatch, position=position
            )
            db.session.add(metals[code])
    sizes = {s.code: s for s in db.session.execute(db.select(FitSize)).scalars()}
    for position, (code, label, lo, hi, adj, permille) in enumerate(SIZES):
        if code not in sizes:
            sizes[code] = FitSize(
                code=code,
                label=label,
                min_circumference_mm=lo,
                max_circumference_mm=hi,
                adjustment_minor=adj,
                metal_permille=permille,
                position=position,
            )
            db.session.add(sizes[code])
    db.session.flush()
    return metals, sizes


def seed_demo(*, media_root: str | None = None, draw_artwork: bool = True) -> SeedReport:
    """Load the demo atelier; safe to run again (adds nothing the second time).

    Artwork is drawn into the app's media storage, or under ``media_root``/products if given.
    """
    report = SeedReport()
    media = LocalStorage(Path(media_root) / "products") if media_root else None
    metals, _ = _upsert_reference_data()
    ensure_default_policies()
    _set_demo_meeting_link()
    report.artisans_created = seed_artisans(draw_pictures=draw_artwork)
    existing = {p.slug: p for p in db.session.execute(db.select(Product)).scalars()}
    existing_runs = set(db.session.execute(db.select(EditionRun.batch_code)).scalars())
    for demo in PRODUCTS:
        product = existing.get(demo.slug)
        if product is None:
            product = _new_product(demo, metals)
            report.products_created += 1
        if draw_artwork and not product.images:
            _add_artwork(product, demo, metals, media or media_storage())
        for run in demo.runs:
            if run.batch not in existing_runs:
                report.pieces_created += _add_run(product, run, metals)
                report.runs_created += 1
    return report


def _set_demo_meeting_link() -> None:
    """Give the demo studio a video link, so the booking form offers video consultations."""
    settings = get_settings()
    if settings.default_meeting_link is None:
        settings.default_meeting_link = DEMO_MEETING_LINK


def _new_product(demo: DemoProduct, metals: dict[str, Metal]) -> Product:
    product = Product(
        slug=demo.slug,
        name=demo.name,
        kind=demo.kind,
        tier=demo.tier,
        summary=demo.summary,
        story=demo.story,
        materials=demo.materials,
        origin=demo.origin,
        finishing=demo.finishing,
        metal_weight_mg=demo.weight_mg,
        bench_minutes=demo.bench_minutes,
        labour_rate_per_hour_minor=demo.labour_rate_minor,
        provenance_minor=demo.provenance_minor,
        packaging_minor=demo.packaging_minor,
        shipping_minor=demo.shipping_minor,
        insurance_bp=demo.insurance_bp,
        lead_time_weeks=demo.lead_time_weeks,
        deposit_percent=demo.deposit_percent,
        default_metal=metals[demo.metals[0]],
        created_at=SEED_EPOCH - timedelta(days=demo.age_days),
    )
    product.metals = [metals[code] for code in demo.metals]
    product.stones = [
        ProductStone(kind=k, count=c, unit_price_minor=p, origin=o, position=i)
        for i, (k, c, p, o) in enumerate(demo.stones)
    ]
    db.session.add(product)
    db.session.flush()
    services.refresh_list_price(product)
    return product


def _add_artwork(
    product: Product, demo: DemoProduct, metals: dict[str, Metal], media: Storage
) -> None:
    for position, code in enumerate(demo.metals):
        catalog_name, overlay_name, spec = _draw_artwork(demo, code, media)
        product.images.append(
            ProductImage(
                path=catalog_name,
                metal_id=metals[code].id,
                position=position,
                alt=f"{demo.name} in {metals[code].name.lower()}",
            )
        )
        product.overlays.append(Overlay(metal_id=metals[code].id, path=overlay_name, spec=spec))


def _add_run(product: Product, run: Run, metals: dict[str, Metal]) -> int:
    """Release one edition run with its numbered pieces; return how many pieces it made."""
    edition = editions.release_edition(
        product=product,
        metal=metals[run.metal],
        batch_code=run.batch,
        size=run.size,
        released_on=date(2026, 1, 15),
    )
    pieces = db.session.execute(select(Piece).where(Piece.run_id == edition.id)).scalars()
    for piece in pieces:
        if piece.number in run.sold:
            piece.status = PieceStatus.SOLD.value
        elif piece.number in run.withheld:
            piece.status = PieceStatus.WITHHELD.value
    return run.size


@click.command("seed-demo")
@click.option("--no-artwork", is_flag=True, help="Skip drawing pictures (faster, for tests).")
@with_appcontext
def seed_demo_command(no_artwork: bool) -> None:
    """Load the demo atelier (idempotent)."""
    with atomic():
        report = seed_demo(draw_artwork=not no_artwork)
    click.echo(
        f"Demo atelier ready: {report.products_created} new products, "
        f"{report.runs_created} new edition runs, {report.pieces_created} new pieces, "
        f"{report.artisans_created} new artisans."
    )
