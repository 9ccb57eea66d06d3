"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import CheckConstraint

from app.extensions import db


def test_migrations_match_models(app):
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    assert diff == [], f"models and migrations differ: {diff}"


def _checks(inspector, table: str) -> dict[str, str]:
    return {
        c["name"]: " ".join(c["sqltext"].split()) for c in inspector.get_check_constraints(table)
    }


def test_migrated_check_constraints_match_the_models(app):
    """Autogenerate does not compare CHECK constraints; a changed one is checked here."""
    from sqlalchemy import inspect

    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        inspector = inspect(db.engine)
        migrated = {name: set(_checks(inspector, name)) for name in db.metadata.tables}
        checks = _checks(inspector, "consultations")
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    modelled = {
        name: {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
        for name, table in db.metadata.tables.items()
    }
    assert migrated == modelled  # none lost when SQLite's batch mode rebuilt a table
    assert "'pending'" in checks["ck_consultations_status_known"]
    assert "'lapsed'" in checks["ck_consultations_status_known"]
    assert "hold_expires_at" in checks["ck_consultations_pending_has_hold"]
