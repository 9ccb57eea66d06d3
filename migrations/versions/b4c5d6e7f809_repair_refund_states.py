"""repair refund states: a refund is recorded before the provider is called, then settled

Revision ID: b4c5d6e7f809
Revises: a3b4c5d6e7f8
Create Date: 2026-12-05 00:05:00

"""

# revision identifiers, used by Alembic.
revision = "b4c5d6e7f809"
down_revision = "a3b4c5d6e7f8"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
