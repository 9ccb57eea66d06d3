"""jobs: invoice PDFs and image variants made by the queue

Revision ID: f2a3b4c5d6e7
Revises: e1f2a3b4c5d6
Create Date: 2026-12-04 21:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f2a3b4c5d6e7"
down_revision = "e1f2a3b4c5d6"
branch_labels = None
depends_on = None


def upgrade():
    # Image variants need no column: a picture lacks sizes while its variants list does.
    op.create_table(
        "invoice_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_invoice_files_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_files")),
        sa.UniqueConstraint("order_id", name=op.f("uq_invoice_files_order_id")),
    )


def downgrade():
    op.drop_table("invoice_files")
