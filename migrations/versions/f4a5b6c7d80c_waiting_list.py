"""waiting list for a product's next batch

Revision ID: f4a5b6c7d80c
Revises: e3f4a5b6c70b
Create Date: 2026-12-04 17:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f4a5b6c7d80c"
down_revision = "e3f4a5b6c70b"
branch_labels = None
depends_on = None

WAITING = sa.text("notified_at IS NULL")


def upgrade():
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
        sa.Column("notified_run_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("email_key <> ''", name=op.f("ck_waitlist_entries_email_key_given")),
        sa.CheckConstraint(
            "notified_run_id IS NULL OR notified_at IS NOT NULL",
            name=op.f("ck_waitlist_entries_notified_for_a_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["notified_run_id"],
            ["edition_runs.id"],
            name=op.f("fk_waitlist_entries_notified_run_id_edition_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_waitlist_entries_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_waitlist_entries_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    # One live entry per design and mailbox; a notified one no longer counts.
    op.create_index(
        "uq_waitlist_entries_waiting",
        "waitlist_entries",
        ["product_id", "email_key"],
        unique=True,
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )


def downgrade():
    op.drop_index("uq_waitlist_entries_waiting", table_name="waitlist_entries")
    op.drop_table("waitlist_entries")
