"""catalog: the dated history of metal rate changes

Revision ID: e6a7b8c9d005
Revises: c3e2a4f6b803
Create Date: 2026-12-04

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e6a7b8c9d005"
down_revision = "c3e2a4f6b803"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "metal_rate_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metal_id", sa.Integer(), nullable=False),
        sa.Column("old_rate_minor", sa.Integer(), nullable=False),
        sa.Column("new_rate_minor", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "old_rate_minor >= 0 AND new_rate_minor >= 0",
            name=op.f("ck_metal_rate_changes_rates_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_metal_rate_changes_changed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["metal_id"],
            ["metals.id"],
            name=op.f("fk_metal_rate_changes_metal_id_metals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metal_rate_changes")),
    )
    with op.batch_alter_table("metal_rate_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metal_rate_changes_metal_changed", ["metal_id", "changed_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("metal_rate_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_metal_rate_changes_metal_changed")
    op.drop_table("metal_rate_changes")
