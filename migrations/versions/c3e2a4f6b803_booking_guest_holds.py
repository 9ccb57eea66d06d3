"""booking: guest holds until the emailed link confirms them, lapsed holds free their slot;
who holds consultations (address key, session key), for the per-buyer cap

Revision ID: c3e2a4f6b803
Revises: b2d1f3e5a702
Create Date: 2026-12-04

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3e2a4f6b803"
down_revision = "b2d1f3e5a702"
branch_labels = None
depends_on = None

OLD_LIVE = sa.text("status != 'cancelled'")
NEW_LIVE = sa.text("status NOT IN ('cancelled', 'lapsed')")
OLD_STATUSES = "status IN ('booked', 'cancelled', 'done', 'no_show')"
NEW_STATUSES = "status IN ('pending', 'lapsed', 'booked', 'cancelled', 'done', 'no_show')"


def _email_key(email: str) -> str:
    # The rule of app.common.visitors.email_key, frozen here as of this revision.
    local, _, domain = (email or "").strip().lower().rpartition("@")
    if not local:
        return domain
    return f"{local.split('+', 1)[0] or local}@{domain}"


def upgrade():
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_key", sa.String(length=254), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("session_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hold_expires_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))
        batch_op.drop_constraint(op.f("ck_consultations_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_consultations_status_known"), NEW_STATUSES)
        batch_op.create_check_constraint(
            op.f("ck_consultations_pending_has_hold"),
            "status != 'pending' OR hold_expires_at IS NOT NULL",
        )
        batch_op.drop_index("uq_consultations_active_start")
        batch_op.create_index(
            "uq_consultations_active_start",
            ["starts_at"],
            unique=True,
            sqlite_where=NEW_LIVE,
            postgresql_where=NEW_LIVE,
        )
        batch_op.create_index(batch_op.f("ix_consultations_email_key"), ["email_key"])
        batch_op.create_index(batch_op.f("ix_consultations_session_key"), ["session_key"])
        batch_op.create_index("ix_consultations_hold_due", ["status", "hold_expires_at"])

    # Existing bookings were made on the old rules: count them as confirmed when made.
    bind = op.get_bind()
    consultations = sa.table(
        "consultations",
        sa.column("id", sa.Integer),
        sa.column("email", sa.String),
        sa.column("email_key", sa.String),
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("confirmed_at", sa.DateTime),
    )
    for row_id, email in bind.execute(sa.select(consultations.c.id, consultations.c.email)):
        bind.execute(
            consultations.update()
            .where(consultations.c.id == row_id)
            .values(email_key=_email_key(email))
        )
    bind.execute(
        consultations.update()
        .where(consultations.c.status != "cancelled")
        .values(confirmed_at=consultations.c.created_at)
    )


def downgrade():
    bind = op.get_bind()
    # Holds have no place in the old schema: a pending or lapsed booking is cancelled.
    bind.execute(
        sa.text("UPDATE consultations SET status = 'cancelled' WHERE status IN ('pending', 'lapsed')")
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_index("ix_consultations_hold_due")
        batch_op.drop_index(batch_op.f("ix_consultations_session_key"))
        batch_op.drop_index(batch_op.f("ix_consultations_email_key"))
        batch_op.drop_index("uq_consultations_active_start")
        batch_op.create_index(
            "uq_consultations_active_start",
            ["starts_at"],
            unique=True,
            sqlite_where=OLD_LIVE,
            postgresql_where=OLD_LIVE,
        )
        batch_op.drop_constraint(op.f("ck_consultations_pending_has_hold"), type_="check")
        batch_op.drop_constraint(op.f("ck_consultations_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_consultations_status_known"), OLD_STATUSES)
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("hold_expires_at")
        batch_op.drop_column("session_key")
        batch_op.drop_column("email_key")
