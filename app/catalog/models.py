from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship
from sqlalchemy.sql.elements import ColumnElement

from app.domain.clock import utcnow
from app.extensions import db


class Kind(enum.StrEnum):
    CROWN = "crown"
    TIARA = "tiara"


class Tier(enum.StrEnum):
    STUDIO = "studio"
    CUSTOM = "custom"


class ProductStatus(enum.StrEnum):
    """A product's place in the shop: drafted by staff, on sale, or no longer offered."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class BatchDocumentKind(enum.StrEnum):
    ASSAY = "assay"
    SOURCE = "source"
    GEM = "gem"
    PHOTO = "photo"
    VIDEO = "video"
    OTHER = "other"


class PieceStatus(enum.StrEnum):
    AVAILABLE = "available"
    RESERVED = "reserved"
    SOLD = "sold"
    WITHHELD = "withheld"


class Metal(db.Model):
    __tablename__ = "metals"
    __table_args__ = (CheckConstraint("rate_per_gram_minor >= 0", name="rate_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    rate_per_gram_minor: Mapped[int]
    swatch: Mapped[str] = mapped_column(String(7), default="#c9a227")
    position: Mapped[int] = mapped_column(default=0)


class MetalRateChange(db.Model):
    """One change of a metal's price per gram: who made it, when, from what to what.

    The dated history of the atelier's rates; orders keep the breakdown frozen at purchase, so
    a change reprices the catalogue only.
    """

    __tablename__ = "metal_rate_changes"
    __table_args__ = (
        CheckConstraint("old_rate_minor >= 0 AND new_rate_minor >= 0", name="rates_not_negative"),
        Index("ix_metal_rate_changes_metal_changed", "metal_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    metal_id: Mapped[int] = mapped_column(ForeignKey("metals.id", ondelete="CASCADE"))
    old_rate_minor: Mapped[int]
    new_rate_minor: Mapped[int]
    note: Mapped[str] = mapped_column(String(200), default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    metal: Mapped[Metal] = relationship()
    changed_by = relationship("User")  # accounts' model, by name: catalog does not import it


class FitSize(db.Model):
    __tablename__ = "fit_sizes"
    __table_args__ = (
        CheckConstraint("min_circumference_mm < max_circumference_mm", name="range_ordered"),
        CheckConstraint("adjustment_minor >= 0", name="adjustment_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    label: Mapped[str] = mapped_column(String(60))
    min_circumference_mm: Mapped[int]
    max_circumference_mm: Mapped[int]
    adjustment_minor: Mapped[int] = mapped_column(default=0)
    metal_permille: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)


product_metals = Table(
    "product_metals",
    db.metadata,
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("metal_id", ForeignKey("metals.id"), primary_key=True),
    # Grams of this metal in milligrams when it differs from the product's metal_weight_mg
    # (platinum is denser than silver); NULL means the product's own figure.
    Column("weight_mg", Integer),
    CheckConstraint("weight_mg > 0", name="weight_positive"),
)

# The sizes a product is offered in; a product with no rows here is offered in every size.
product_sizes = Table(
    "product_sizes",
    db.metadata,
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("fit_size_id", ForeignKey("fit_sizes.id"), primary_key=True),
)


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("kind IN ('crown', 'tiara')", name="kind_known"),
        CheckConstraint("tier IN ('studio', 'custom')", name="tier_known"),
        CheckConstraint("metal_weight_mg > 0", name="weight_positive"),
        CheckConstraint("bench_minutes >= 0", name="bench_not_negative"),
        CheckConstraint("insurance_bp BETWEEN 0 AND 10000", name="insurance_range"),
        CheckConstraint(
            "tier = 'studio' OR (lead_time_weeks > 0 AND deposit_percent BETWEEN 1 AND 100)",
            name="custom_terms",
        ),
        CheckConstraint("status IN ('draft', 'published', 'retired')", name="status_known"),
        Index("ix_products_list_price", "list_price_minor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(300), default="")
    story: Mapped[str] = mapped_column(Text, default="")
    materials: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(Text, default="")
    finishing: Mapped[str] = mapped_column(Text, default="")
    certification: Mapped[str] = mapped_column(Text, default="")
    fit_notes: Mapped[str] = mapped_column(Text, default="")  # fit adjustments offered
    # Draft: staff only (preview); published: on sale; retired: its page stays, not for sale.
    status: Mapped[str] = mapped_column(
        String(16), default=ProductStatus.PUBLISHED.value, server_default="published"
    )
    published_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    metal_weight_mg: Mapped[int]
    bench_minutes: Mapped[int]
    labour_rate_per_hour_minor: Mapped[int]
    provenance_minor: Mapped[int]
    packaging_minor: Mapped[int]
    shipping_minor: Mapped[int]
    insurance_bp: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    lead_time_weeks: Mapped[int | None]
    deposit_percent: Mapped[int | None]
    default_metal_id: Mapped[int] = mapped_column(ForeignKey("metals.id"))
    # The "from" price (default metal, smallest size), kept in step by catalog.services so the
    # catalog can sort and filter by price in SQL.
    list_price_minor: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Whether it has a try-on picture: filled in by the query that asks (catalog.services
    # get_product), None when a query did not; not a column.
    has_tryon: Mapped[bool | None] = query_expression()

    default_metal: Mapped[Metal] = relationship(foreign_keys=[default_metal_id])
    metals: Mapped[list[Metal]] = relationship(secondary=product_metals, order_by=Metal.position)
    offered_sizes: Mapped[list[FitSize]] = relationship(
        secondary=product_sizes, order_by=FitSize.position
    )
    stones: Mapped[list[ProductStone]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductStone.position"
    )
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductImage.position"
    )
    runs: Mapped[list[EditionRun]] = relationship(
        back_populates="product", order_by="EditionRun.id"
    )
    overlays: Mapped[list[Overlay]] = relationship(
        back_populates="product", cascade="all, delete-orphan"
    )

    @property
    def is_studio(self) -> bool:
        return self.tier == Tier.STUDIO.value

    @property
    def is_custom(self) -> bool:
        return self.tier == Tier.CUSTOM.value

    @property
    def is_published(self) -> bool:
        return self.status == ProductStatus.PUBLISHED.value

    @property
    def is_retired(self) -> bool:
        return self.status == ProductStatus.RETIRED.value


class ProductStone(db.Model):
    __tablename__ = "product_stones"
    __table_args__ = (
        CheckConstraint("count > 0", name="count_positive"),
        CheckConstraint("unit_price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    count: Mapped[int]
    unit_price_minor: Mapped[int]
    origin: Mapped[str] = mapped_column(String(120), default="")
    treatment: Mapped[str] = mapped_column(String(120), default="")  # "none", "heated"…
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="stones")


class ProductImage(db.Model):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    metal_id: Mapped[int | None] = mapped_column(ForeignKey("metals.id"))
    path: Mapped[str] = mapped_column(String(255))  # relative to MEDIA_ROOT
    alt: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    width: Mapped[int | None]
    height: Mapped[int | None]
    # Smaller renditions for srcset: [{"width": 480, "path": "..."}, ...], widest last; NULL
    # for a picture that has none (the demo's).
    variants: Mapped[list | None] = mapped_column(JSON)

    product: Mapped[Product] = relationship(back_populates="images")


class Overlay(db.Model):
    """The transparent front-view PNG of a piece in one metal, for the AR try-on."""

    __tablename__ = "overlays"
    __table_args__ = (UniqueConstraint("product_id", "metal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    metal_id: Mapped[int] = mapped_column(ForeignKey("metals.id"))
    path: Mapped[str] = mapped_column(String(255))
    spec: Mapped[dict] = mapped_column(JSON)
    # When staff confirmed the band ends and width; an uploaded overlay is NULL until then and
    # shows no try-on button. Overlays made in code (the demo, imports) come calibrated.
    calibrated_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    calibrated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    product: Mapped[Product] = relationship(back_populates="overlays")
    metal: Mapped[Metal] = relationship()


class EditionRun(db.Model):
    __tablename__ = "edition_runs"
    __table_args__ = (
        CheckConstraint("size IN (10, 25, 50)", name="size_allowed"),
        # Lets pieces reference (run, size) together, so a piece's number is checked
        # against the size of the run it belongs to.
        UniqueConstraint("id", "size", name="uq_edition_runs_id_size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    metal_id: Mapped[int] = mapped_column(ForeignKey("metals.id"))
    batch_code: Mapped[str] = mapped_column(String(40), unique=True)
    size: Mapped[int]
    released_on: Mapped[date | None]
    # What this run is made of and where it came from ("recycled 18k gold, refined in …").
    sourcing_statement: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None]  # closed: no more sales; stays visible as history

    product: Mapped[Product] = relationship(back_populates="runs")
    metal: Mapped[Metal] = relationship()
    pieces: Mapped[list[Piece]] = relationship(back_populates="run", order_by="Piece.number")
    documents: Mapped[list[BatchDocument]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="BatchDocument.id"
    )


class BatchDocument(db.Model):
    """A document published with a batch: assay report, source certificate, gem report, a
    bench photo or short video. Public on the batch's page."""

    __tablename__ = "batch_documents"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('assay', 'source', 'gem', 'photo', 'video', 'other')", name="kind_known"
        ),
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("edition_runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(160))
    path: Mapped[str] = mapped_column(String(255))  # a key in media storage
    content_type: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[EditionRun] = relationship(back_populates="documents")


class RateChange(db.Model):
    """One change of a shop-wide rate other than a metal's (those are MetalRateChange): a
    stone kind's unit price, the bench hourly rate, certification, shipping or insurance."""

    __tablename__ = "rate_changes"
    __table_args__ = (
        CheckConstraint(
            "subject IN ('stone', 'bench', 'certification', 'shipping', 'insurance')",
            name="subject_known",
        ),
        CheckConstraint("old_value >= 0 AND new_value >= 0", name="values_not_negative"),
        Index("ix_rate_changes_subject_changed", "subject", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(60), default="")  # the stone kind, for stones
    old_value: Mapped[int]  # minor units, or basis points for insurance
    new_value: Mapped[int]
    note: Mapped[str] = mapped_column(String(200), default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    changed_by = relationship("User")


class BenchCapacityChange(db.Model):
    """The bench's capacity in hours a week from changed_at on; the newest row is current."""

    __tablename__ = "bench_capacity_changes"
    __table_args__ = (CheckConstraint("hours_per_week > 0", name="hours_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hours_per_week: Mapped[int]
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    changed_by = relationship("User")


class PolicyPage(db.Model):
    """A published policy admins edit (the materials policy), with who last changed it."""

    __tablename__ = "policy_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Piece(db.Model):
    """One numbered piece of an edition run. Pieces are never deleted, so numbers never recur."""

    __tablename__ = "pieces"
    __table_args__ = (
        UniqueConstraint("run_id", "number", name="uq_pieces_run_number"),
        ForeignKeyConstraint(
            ["run_id", "edition_size"],
            ["edition_runs.id", "edition_runs.size"],
            name="fk_pieces_run_size",
        ),
        CheckConstraint("number >= 1 AND number <= edition_size", name="number_in_run"),
        CheckConstraint(
            "status IN ('available', 'reserved', 'sold', 'withheld')", name="status_known"
        ),
        CheckConstraint(
            "status <> 'reserved' OR reserved_until IS NOT NULL", name="reservation_expires"
        ),
        Index("ix_pieces_run_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column()
    number: Mapped[int]
    edition_size: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=PieceStatus.AVAILABLE.value)
    reserved_until: Mapped[datetime | None]

    run: Mapped[EditionRun] = relationship(back_populates="pieces", foreign_keys=[run_id])

    @property
    def label(self) -> str:
        from app.domain.editions import format_piece_number

        return format_piece_number(self.number, self.edition_size)


def piece_is_free(now: datetime) -> ColumnElement[bool]:
    """SQL condition: the piece can be sold now (available, or its reservation has lapsed)."""
    return or_(
        Piece.status == PieceStatus.AVAILABLE.value,
        and_(Piece.status == PieceStatus.RESERVED.value, Piece.reserved_until < now),
    )


class WaitlistEntry(db.Model):
    """An address waiting for the next batch of a sold-out design (app.catalog.waitlist).

    Live until the next batch opens: then it is emailed once and marked notified, and the same
    address may join again for the batch after. One live entry per design and mailbox.
    """

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        Index(
            "uq_waitlist_entries_waiting",
            "product_id",
            "email_key",
            unique=True,
            sqlite_where=text("notified_at IS NULL"),
            postgresql_where=text("notified_at IS NULL"),
        ),
        CheckConstraint("email_key <> ''", name="email_key_given"),
        CheckConstraint(
            "notified_run_id IS NULL OR notified_at IS NOT NULL", name="notified_for_a_batch"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))  # where to write, as given (lower case)
    email_key: Mapped[str] = mapped_column(String(254))  # the mailbox (visitors.email_key)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None]
    notified_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("edition_runs.id", ondelete="SET NULL")
    )
