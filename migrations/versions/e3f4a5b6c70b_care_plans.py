"""care plans: admin-set plans and the plan frozen on an order line

Revision ID: e3f4a5b6c70b
Revises: d2e3f4a5b60a
Create Date: 2026-12-04 17:45:00

"""

# revision identifiers, used by Alembic.
revision = "e3f4a5b6c70b"
down_revision = "d2e3f4a5b60a"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
