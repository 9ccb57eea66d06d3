"""repair refund states: a refund is recorded before the provider is called, then settled

Revision ID: b4c5d6e7f809
Revises: a3b4c5d6e7f8
Create Date: 2026-12-05 00:05:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b4c5d6e7f809"
down_revision = "a3b4c5d6e7f8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("repair_refunds", schema=None) as batch_op:
        # Every refund recorded so far was recorded only once Stripe (or the bank) had done it.
        batch_op.add_column(
            sa.Column("status", sa.String(length=10), server_default="succeeded", nullable=False)
        )
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("failure_message", sa.String(length=500), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("settled_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE repair_refunds SET settled_at = created_at")
    with op.batch_alter_table("repair_refunds", schema=None) as batch_op:
        # The defaults only filled the rows above; the application names every new row's state.
        batch_op.alter_column("status", server_default=None)
        batch_op.alter_column("failure_message", server_default=None)
        batch_op.create_check_constraint(
            op.f("ck_repair_refunds_status_known"),
            "status IN ('pending', 'succeeded', 'failed')",
        )
        batch_op.create_unique_constraint(
            op.f("uq_repair_refunds_idempotency_key"), ["idempotency_key"]
        )
        batch_op.create_index(batch_op.f("ix_repair_refunds_status"), ["status"], unique=False)


def downgrade():
    # The old schema knows only refunds that happened. A failed one gave nothing back (its
    # amount is already off the payment's refunded total): it goes. A pending one stays, as it
    # is already counted: Stripe may well have made it, and losing that is what this fixed.
    op.execute("DELETE FROM repair_refunds WHERE status = 'failed'")
    with op.batch_alter_table("repair_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_refunds_status"))
        batch_op.drop_constraint(op.f("uq_repair_refunds_idempotency_key"), type_="unique")
        batch_op.drop_constraint(op.f("ck_repair_refunds_status_known"), type_="check")
        batch_op.drop_column("settled_at")
        batch_op.drop_column("failure_message")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("status")
