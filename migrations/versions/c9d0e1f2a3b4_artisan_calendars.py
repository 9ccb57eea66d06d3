"""artisan calendars: each artisan's weekly hours and exceptions; consultations get an artisan

Revision ID: c9d0e1f2a3b4
Revises: b8c9d0e1f2a3
Create Date: 2026-12-04 21:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c9d0e1f2a3b4"
down_revision = "b8c9d0e1f2a3"
branch_labels = None
depends_on = None

LIVE = "status NOT IN ('cancelled', 'lapsed')"
STUDIO_LIVE = "status NOT IN ('cancelled', 'lapsed') AND artisan_id IS NULL"


def _artisan_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["artisan_id"],
        ["artisan_profiles.id"],
        name=op.f(f"fk_{table}_artisan_id_artisan_profiles"),
        ondelete="CASCADE",
    )


def upgrade():
    op.create_table(
        "consultation_artisan_calendars",
        sa.Column("artisan_id", sa.Integer(), nullable=False),
        sa.Column("takes_consultations", sa.Boolean(), nullable=False),
        sa.Column("own_hours", sa.Boolean(), nullable=False),
        _artisan_fk("consultation_artisan_calendars"),
        sa.PrimaryKeyConstraint("artisan_id", name=op.f("pk_consultation_artisan_calendars")),
    )
    op.create_table(
        "consultation_artisan_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artisan_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens_at", sa.Time(), nullable=False),
        sa.Column("closes_at", sa.Time(), nullable=False),
        sa.CheckConstraint(
            "weekday BETWEEN 0 AND 6", name=op.f("ck_consultation_artisan_hours_weekday_range")
        ),
        sa.CheckConstraint(
            "closes_at > opens_at", name=op.f("ck_consultation_artisan_hours_closes_after_opens")
        ),
        _artisan_fk("consultation_artisan_hours"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_artisan_hours")),
    )
    with op.batch_alter_table("consultation_artisan_hours", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_artisan_hours_artisan_id"), ["artisan_id"], unique=False
        )
    op.create_table(
        "consultation_artisan_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artisan_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opens_at", sa.Time(), nullable=True),
        sa.Column("closes_at", sa.Time(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(opens_at IS NULL AND closes_at IS NULL) OR "
            "(opens_at IS NOT NULL AND closes_at IS NOT NULL AND closes_at > opens_at)",
            name=op.f("ck_consultation_artisan_exceptions_hours_complete"),
        ),
        _artisan_fk("consultation_artisan_exceptions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_artisan_exceptions")),
        sa.UniqueConstraint(
            "artisan_id", "day", name=op.f("uq_consultation_artisan_exceptions_artisan_id_day")
        ),
    )
    op.create_table(
        "consultation_artisan_days",
        sa.Column("artisan_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bookings_changed", sa.Integer(), nullable=False),
        _artisan_fk("consultation_artisan_days"),
        sa.PrimaryKeyConstraint("artisan_id", "day", name=op.f("pk_consultation_artisan_days")),
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("artisan_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_consultations_artisan_id_artisan_profiles"),
            "artisan_profiles",
            ["artisan_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_index("uq_consultations_active_start")
        batch_op.create_index(
            "uq_consultations_active_start",
            ["starts_at"],
            unique=True,
            sqlite_where=sa.text(STUDIO_LIVE),
            postgresql_where=sa.text(STUDIO_LIVE),
        )
        batch_op.create_index(
            "uq_consultations_artisan_active_start",
            ["artisan_id", "starts_at"],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )


def downgrade():
    # The old schema has one calendar: artisans' bookings at one time cannot all stay live.
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE consultations SET status = 'cancelled' WHERE id IN ("
            " SELECT c.id FROM consultations c WHERE c.status NOT IN ('cancelled', 'lapsed')"
            " AND EXISTS (SELECT 1 FROM consultations o WHERE o.starts_at = c.starts_at"
            " AND o.id < c.id AND o.status NOT IN ('cancelled', 'lapsed')))"
        )
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_index("uq_consultations_artisan_active_start")
        batch_op.drop_index("uq_consultations_active_start")
        batch_op.create_index(
            "uq_consultations_active_start",
            ["starts_at"],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
        batch_op.drop_constraint(
            batch_op.f("fk_consultations_artisan_id_artisan_profiles"), type_="foreignkey"
        )
        batch_op.drop_column("artisan_id")
    op.drop_table("consultation_artisan_days")
    op.drop_table("consultation_artisan_exceptions")
    with op.batch_alter_table("consultation_artisan_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_artisan_hours_artisan_id"))
    op.drop_table("consultation_artisan_hours")
    op.drop_table("consultation_artisan_calendars")
