"""video consultations: meeting links per artisan and a studio default

Revision ID: d0e1f2a3b4c5
Revises: c9d0e1f2a3b4
Create Date: 2026-12-04 21:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d0e1f2a3b4c5"
down_revision = "c9d0e1f2a3b4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("artisan_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_link", sa.String(length=500), nullable=True))
    with op.batch_alter_table("consultation_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_meeting_link", sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table("consultation_settings", schema=None) as batch_op:
        batch_op.drop_column("default_meeting_link")
    with op.batch_alter_table("artisan_profiles", schema=None) as batch_op:
        batch_op.drop_column("meeting_link")
