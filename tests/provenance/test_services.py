from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.catalog.models import Piece
from app.common.transactions import atomic
from app.domain.ledger import GENESIS_HASH
from app.extensions import db
from app.provenance import services
from app.provenance.models import Passport, ProvenanceEntry
from tests.conftest import POSTGRES_URL
from tests.helpers import race
from tests.staff.builders import png_bytes


def first_piece_id(app) -> int:
    return db.session.execute(db.select(Piece.id).order_by(Piece.id).limit(1)).scalar_one()


def drop_append_only_trigger() -> None:
    """What an attacker with DDL rights could do before editing rows behind the app's back."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text("DROP TRIGGER provenance_entries_append_only ON provenance_entries")
        )
    else:
        db.session.execute(text("DROP TRIGGER provenance_entries_no_update"))
        db.session.execute(text("DROP TRIGGER provenance_entries_no_delete"))
    db.session.commit()


def test_piece_passport_opens_with_run_passport_and_origin(app, atelier):
    with app.app_context():
        with atomic():
            passport = services.passport_for_piece(piece_id=first_piece_id(app))
        assert re.fullmatch(r"[2-9a-hjkmnp-z]{12}", passport.code)
        assert passport.kind == "piece" and passport.length == 1
        origin = passport.entries[0]
        assert origin.kind == "origin" and origin.prev_hash == GENESIS_HASH
        assert origin.details["piece"] == "01/10"
        assert origin.details["stones"] == [
            {"kind": "diamond", "count": 4, "origin": "not recorded"}
        ]
        run_passport = services.find_passport(run_id=passport.piece.run_id)
        assert origin.details["run_passport"] == run_passport.code
        # Asking again returns the same passport.
        assert services.passport_for_piece(piece_id=passport.piece_id).id == passport.id


def test_entries_chain_and_verify(app, atelier):
    with app.app_context():
        with atomic():
            passport = services.passport_for_piece(piece_id=first_piece_id(app))
        photo = services.store_entry_file(png_bytes(), label="Casting")
        with atomic():
            services.append_entry(
                passport_id=passport.id,
                kind="step",
                summary="Cast in recycled 18k gold",
                actor="Mira Goldsmith",
                details={"origin": "recycled", "grams": 101},
                files=[photo],
            )
        with atomic():
            services.append_entry(passport_id=passport.id, kind="note", summary="Polished twice")
        entries = services.entries_of(passport.id)
        assert [e.seq for e in entries] == [1, 2, 3]
        assert entries[1].prev_hash == entries[0].hash and entries[2].prev_hash == entries[1].hash
        assert (
            entries[1].files[0]["sha256"] == __import__("hashlib").sha256(png_bytes()).hexdigest()
        )
        report = services.verify_passport(passport)
        assert report.ok and report.length == 3 and report.head_hash == passport.head_hash


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "step", "summary": "x", "details": {"grams": 1.5}}, "floats"),
        ({"kind": "gossip", "summary": "x"}, "Unknown entry kind"),
        ({"kind": "note", "summary": "   "}, "needs a summary"),
    ],
)
def test_bad_entries_are_refused(app, atelier, kwargs, message):
    with app.app_context():
        with atomic():
            passport = services.passport_for_piece(piece_id=first_piece_id(app))
        with pytest.raises(services.EntryRefused, match=message), atomic():
            services.append_entry(passport_id=passport.id, **kwargs)
        assert services.verify_passport(passport).ok


def test_database_refuses_update_and_delete(app, atelier):
    with app.app_context():
        with atomic():
            passport = services.passport_for_piece(piece_id=first_piece_id(app))
        for statement in (
            "UPDATE provenance_entries SET summary = 'forged'",
            "DELETE FROM provenance_entries",
        ):
            with pytest.raises((DBAPIError, IntegrityError), match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert services.verify_passport(passport).ok


def test_migration_installs_the_append_only_trigger(app):
    from flask_migrate import upgrade

    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(revision="heads")
        if db.engine.dialect.name == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'provenance_entries'::regclass"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        with db.engine.begin() as conn:
            names = set(conn.exec_driver_sql(query).scalars())
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        dialect = db.engine.dialect.name
    expected = {
        "postgresql": {"provenance_entries_append_only"},
        "sqlite": {"provenance_entries_no_update", "provenance_entries_no_delete"},
    }[dialect]
    assert expected <= names


def test_altered_entry_is_named_by_verify_provenance(app, atelier, runner):
    with app.app_context():
        with atomic():
            passport = services.passport_for_piece(piece_id=first_piece_id(app))
        with atomic():
            services.append_entry(passport_id=passport.id, kind="step", summary="Set four diamonds")
        with atomic():
            services.append_entry(passport_id=passport.id, kind="step", summary="Polished")
        code = passport.code
        drop_append_only_trigger()
        db.session.execute(
            text(
                "UPDATE provenance_entries SET summary = 'Set four lab diamonds' "
                "WHERE passport_id = :p AND seq = 2"
            ),
            {"p": passport.id},
        )
        db.session.commit()
    result = runner.invoke(args=["verify-provenance"])
    assert result.exit_code == 1
    assert f"BROKEN  {code}" in result.output
    assert "entry #2: content altered" in result.output
    assert "entry #3" not in result.output  # the later links still hold
    assert "1 broken" in result.output


def test_truncated_chain_is_named(app, atelier, runner):
    with app.app_context():
        with atomic():
            passport = services.passport_for_piece(piece_id=first_piece_id(app))
        with atomic():
            services.append_entry(passport_id=passport.id, kind="step", summary="Polished")
        drop_append_only_trigger()
        db.session.execute(
            text("DELETE FROM provenance_entries WHERE passport_id = :p AND seq = 2"),
            {"p": passport.id},
        )
        db.session.commit()
    result = runner.invoke(args=["verify-provenance"])
    assert result.exit_code == 1
    assert "2 were recorded" in result.output


def test_clean_chains_verify_with_exit_code_zero(app, atelier, runner):
    with app.app_context(), atomic():
        services.passport_for_piece(piece_id=first_piece_id(app))
    result = runner.invoke(args=["verify-provenance"])
    assert result.exit_code == 0, result.output
    assert "2 chains checked, 0 broken." in result.output


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks are proven on PostgreSQL")
def test_concurrent_appends_keep_one_chain(app, atelier):
    with app.app_context():
        passport_id = services.passport_for_piece(piece_id=first_piece_id(app)).id

    def worker(n: int) -> None:
        with atomic():
            services.append_entry(passport_id=passport_id, kind="note", summary=f"worker {n}")

    race(6, worker, app=app)  # re-raises any worker's error
    with app.app_context():
        passport = db.session.get(Passport, passport_id)
        seqs = (
            db.session.execute(
                db.select(ProvenanceEntry.seq)
                .where(ProvenanceEntry.passport_id == passport_id)
                .order_by(ProvenanceEntry.seq)
            )
            .scalars()
            .all()
        )
        assert seqs == list(range(1, 8))
        assert services.verify_passport(passport).ok
