"""packing records: the packing ritual checked off and the packed piece's photo, one per line

Revision ID: b0c1d2e3f408
Revises: a9b0c1d2e307
Create Date: 2026-12-04

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b0c1d2e3f408"
down_revision = "a9b0c1d2e307"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "packing_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("photo_upload", sa.String(length=255), nullable=False),
        sa.Column("photo_content_type", sa.String(length=60), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("packed_by_id", sa.Integer(), nullable=True),
        sa.Column("packed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_packing_records_order_line_id_order_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["packed_by_id"],
            ["users.id"],
            name=op.f("fk_packing_records_packed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packing_records")),
        sa.UniqueConstraint("order_line_id", name=op.f("uq_packing_records_order_line_id")),
    )


def downgrade():
    op.drop_table("packing_records")
