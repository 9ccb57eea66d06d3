"""repairs: payment of a quote (card or bank) and shipping the piece back

Revision ID: d2e3f4a5b60a
Revises: c1d2e3f4a509
Create Date: 2026-12-04 17:45:00

"""

# revision identifiers, used by Alembic.
revision = "d2e3f4a5b60a"
down_revision = "c1d2e3f4a509"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
