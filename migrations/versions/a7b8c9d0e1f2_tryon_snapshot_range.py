"""tryon snapshots: the head circumference estimate's 80% range

Revision ID: a7b8c9d0e1f2
Revises: f4a5b6c7d80c
Create Date: 2026-12-04 18:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7b8c9d0e1f2"
down_revision = "f4a5b6c7d80c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tryon_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("head_circumference_low_mm", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("head_circumference_high_mm", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("tryon_snapshots", schema=None) as batch_op:
        batch_op.drop_column("head_circumference_high_mm")
        batch_op.drop_column("head_circumference_low_mm")
