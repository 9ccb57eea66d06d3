"""accounts: registrations await address confirmation; repairs: one open ticket per piece

Revision ID: b2d1f3e5a702
Revises: a1c0e2d4f601
Create Date: 2026-12-04

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b2d1f3e5a702"
down_revision = "a1c0e2d4f601"
branch_labels = None
depends_on = None

OPEN = sa.text("status <> 'returned'")


def upgrade():
    # NULL means confirmed: every existing account stays able to sign in.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unconfirmed_since", sa.DateTime(), nullable=True))

    # The unique index cannot be built over a piece with several open tickets: name them, for
    # staff to settle by hand, rather than close anyone's repair silently.
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT passport_id FROM repair_tickets WHERE passport_id IS NOT NULL "
                "AND status <> 'returned' GROUP BY passport_id HAVING count(*) > 1"
            )
        )
        .scalars()
        .all()
    )
    if duplicates:
        raise RuntimeError(
            "Close the duplicate open repair tickets of passports "
            f"{sorted(duplicates)} before upgrading (one open ticket per piece)."
        )
    op.create_index(
        "uq_repair_tickets_open_passport",
        "repair_tickets",
        ["passport_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade():
    op.drop_index("uq_repair_tickets_open_passport", table_name="repair_tickets")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("unconfirmed_since")
