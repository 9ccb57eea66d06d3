"""checkout: who holds pieces (address key, session key), guest address confirmation,
internal and customer payment notes

Revision ID: a1c0e2d4f601
Revises: 31200fc60e76
Create Date: 2026-12-04

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a1c0e2d4f601"
down_revision = "31200fc60e76"
branch_labels = None
depends_on = None


def _email_key(email: str) -> str:
    # The rule of app.common.visitors.email_key, frozen here as of this revision.
    local, _, domain = (email or "").strip().lower().rpartition("@")
    if not local:
        return domain
    return f"{local.split('+', 1)[0] or local}@{domain}"


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_key", sa.String(length=254), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("session_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("email_confirmed_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_email_key"), ["email_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_session_key"), ["session_key"], unique=False)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("customer_note", sa.String(length=255), server_default="", nullable=False)
        )

    # Orders placed before this revision were held on the old rules: count them as confirmed.
    bind = op.get_bind()
    orders = sa.table(
        "orders",
        sa.column("id", sa.Integer),
        sa.column("email", sa.String),
        sa.column("email_key", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("email_confirmed_at", sa.DateTime),
    )
    rows = bind.execute(sa.select(orders.c.id, orders.c.email)).all()
    for order_id, email in rows:
        bind.execute(
            orders.update().where(orders.c.id == order_id).values(email_key=_email_key(email))
        )
    bind.execute(orders.update().values(email_confirmed_at=orders.c.created_at))


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("customer_note")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_session_key"))
        batch_op.drop_index(batch_op.f("ix_orders_email_key"))
        batch_op.drop_column("email_confirmed_at")
        batch_op.drop_column("session_key")
        batch_op.drop_column("email_key")
