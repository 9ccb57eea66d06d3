"""orders: who signed for the delivery

Revision ID: f7a8b9c0d106
Revises: d4f5a6b7c804
Create Date: 2026-12-09

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f7a8b9c0d106"
down_revision = "d4f5a6b7c804"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "delivered_signed_by", sa.String(length=120), server_default="", nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("delivered_signed_by")
