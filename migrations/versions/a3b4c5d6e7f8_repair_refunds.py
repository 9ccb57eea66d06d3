"""repair refunds: money given back on a repair payment, with who and why

Revision ID: a3b4c5d6e7f8
Revises: f2a3b4c5d6e7
Create Date: 2026-12-04 22:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a3b4c5d6e7f8"
down_revision = "f2a3b4c5d6e7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "repair_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_repair_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["repair_payments.id"],
            name=op.f("fk_repair_refunds_payment_id_repair_payments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
            name=op.f("fk_repair_refunds_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_refunds")),
    )
    with op.batch_alter_table("repair_refunds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repair_refunds_payment_id"), ["payment_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("repair_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_refunds_payment_id"))
    op.drop_table("repair_refunds")
