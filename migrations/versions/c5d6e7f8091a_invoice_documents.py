"""invoice documents: an order may hold more than one issued document (invoice, balance receipt)

Revision ID: c5d6e7f8091a
Revises: b4c5d6e7f809
Create Date: 2026-12-05 00:06:00

"""

# revision identifiers, used by Alembic.
revision = "c5d6e7f8091a"
down_revision = "b4c5d6e7f809"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
