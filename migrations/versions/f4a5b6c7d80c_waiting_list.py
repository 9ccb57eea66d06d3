"""waiting list for a product's next batch

Revision ID: f4a5b6c7d80c
Revises: e3f4a5b6c70b
Create Date: 2026-12-04 17:45:00

"""

# revision identifiers, used by Alembic.
revision = "f4a5b6c7d80c"
down_revision = "e3f4a5b6c70b"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
