"""Provenance passports: one per numbered piece, per edition run and per custom commission.

A passport's history is a chain of append-only entries; each stores the previous entry's hash
and its own (see app.domain.ledger). There is no update or delete path in the code, and on
both databases a trigger refuses UPDATE and DELETE on ``provenance_entries`` outright.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    DDL,
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.clock import utcnow
from app.domain.ledger import GENESIS_HASH
from app.extensions import db

ENTRY_KINDS: tuple[str, ...] = (
    "origin",  # the passport opens: what the piece is, its metal and stones
    "material",  # metal lot and its origin (recycled gold...), assay reports
    "stone",  # a significant stone: mine or lab, certificate
    "step",  # a maker did a step of the work
    "document",  # any other certificate or report
    "qc",  # a quality-control check
    "dispatch",  # the piece left the atelier
    "repair",  # a repair, when the piece came back
    "note",  # a correction or remark (entries are never edited; notes amend them)
)

PASSPORT_KINDS = ("piece", "run", "commission")


class Passport(db.Model):
    __tablename__ = "passports"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN piece_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN run_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN order_line_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_subject",
        ),
        CheckConstraint("length >= 0", name="length_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public identifier printed as a QR code; short, random and never the database id.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    piece_id: Mapped[int | None] = mapped_column(ForeignKey("pieces.id"), unique=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("edition_runs.id"), unique=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # The chain's head as last appended (kept in step under a row lock): lets verification
    # notice entries removed from the end, which a hash chain alone cannot.
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    length: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    piece = relationship("Piece")
    run = relationship("EditionRun")
    order_line = relationship("OrderLine")
    entries: Mapped[list[ProvenanceEntry]] = relationship(
        back_populates="passport", order_by="ProvenanceEntry.seq"
    )

    @property
    def kind(self) -> str:
        if self.piece_id is not None:
            return "piece"
        if self.run_id is not None:
            return "run"
        return "commission"


class ProvenanceEntry(db.Model):
    __tablename__ = "provenance_entries"
    __table_args__ = (
        UniqueConstraint("passport_id", "seq", name="uq_provenance_entries_passport_seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in ENTRY_KINDS)})", name="kind_known"),
        Index("ix_provenance_entries_passport_kind", "passport_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    passport_id: Mapped[int] = mapped_column(ForeignKey("passports.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Public text: the maker's or atelier's name, never a customer's.
    actor: Mapped[str] = mapped_column(String(120), default="")
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{"name": upload name, "content_type", "sha256", "label"}]: the hash covers the files too.
    files: Mapped[list] = mapped_column(JSON, default=list)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Ed25519 signature (base64) of the hash by a key outside the database (app.provenance.signing);
    # NULL only on entries written before signing began, which verification reports as unsigned.
    signature: Mapped[str | None] = mapped_column(String(88))

    passport: Mapped[Passport] = relationship(back_populates="entries")


# Append-only in the database itself, so a stray UPDATE from a console or another service fails.
# (Tests of tamper detection drop the trigger first, as an attacker with DDL rights could.)
_PG_APPEND_ONLY = DDL(
    """
    CREATE OR REPLACE FUNCTION provenance_entries_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'provenance entries are append-only';
    END;
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER provenance_entries_append_only
        BEFORE UPDATE OR DELETE ON provenance_entries
        FOR EACH ROW EXECUTE FUNCTION provenance_entries_append_only();
    """
)
_SQLITE_NO_UPDATE = DDL(
    "CREATE TRIGGER provenance_entries_no_update BEFORE UPDATE ON provenance_entries "
    "BEGIN SELECT RAISE(ABORT, 'provenance entries are append-only'); END"
)
_SQLITE_NO_DELETE = DDL(
    "CREATE TRIGGER provenance_entries_no_delete BEFORE DELETE ON provenance_entries "
    "BEGIN SELECT RAISE(ABORT, 'provenance entries are append-only'); END"
)
event.listen(
    ProvenanceEntry.__table__, "after_create", _PG_APPEND_ONLY.execute_if(dialect="postgresql")
)
event.listen(
    ProvenanceEntry.__table__, "after_create", _SQLITE_NO_UPDATE.execute_if(dialect="sqlite")
)
event.listen(
    ProvenanceEntry.__table__, "after_create", _SQLITE_NO_DELETE.execute_if(dialect="sqlite")
)

APPEND_ONLY_TRIGGER_SQL = {
    "postgresql": [_PG_APPEND_ONLY.statement],
    "sqlite": [_SQLITE_NO_UPDATE.statement, _SQLITE_NO_DELETE.statement],
}
