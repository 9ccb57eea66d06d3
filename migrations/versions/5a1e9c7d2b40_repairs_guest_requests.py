"""repairs: guest buyers' online requests (source 'guest')

Revision ID: 5a1e9c7d2b40
Revises: 3e5ec2fc8046
Create Date: guest repair requests

"""

from alembic import op

revision = "5a1e9c7d2b40"
down_revision = "3e5ec2fc8046"
branch_labels = None
depends_on = None

OLD_ONLINE = "source = 'walk_in' OR (customer_id IS NOT NULL AND passport_id IS NOT NULL)"
NEW_ONLINE = (
    "source = 'walk_in' OR (passport_id IS NOT NULL"
    " AND (customer_id IS NOT NULL OR source = 'guest'))"
)


def _swap(sources: str, online: str) -> None:
    with op.batch_alter_table("repair_tickets", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_repair_tickets_source_known"), type_="check")
        batch_op.drop_constraint(
            op.f("ck_repair_tickets_online_requests_name_owner_and_piece"), type_="check"
        )
        batch_op.create_check_constraint(op.f("ck_repair_tickets_source_known"), sources)
        batch_op.create_check_constraint(
            op.f("ck_repair_tickets_online_requests_name_owner_and_piece"), online
        )


def upgrade():
    _swap("source IN ('customer', 'guest', 'walk_in')", NEW_ONLINE)


def downgrade():
    _swap("source IN ('customer', 'walk_in')", OLD_ONLINE)
