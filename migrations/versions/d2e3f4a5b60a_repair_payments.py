"""repairs: payment of a quote (card or bank) and shipping the piece back

Revision ID: d2e3f4a5b60a
Revises: c1d2e3f4a509
Create Date: 2026-12-04 17:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d2e3f4a5b60a"
down_revision = "c1d2e3f4a509"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("repair_tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paid_minor", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("carrier", sa.String(length=80), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("tracking_number", sa.String(length=80), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("shipped_back_at", sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_repair_tickets_paid_not_negative"), "paid_minor >= 0"
        )
    op.create_table(
        "repair_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "method IN ('manual', 'stripe')", name=op.f("ck_repair_payments_method_known")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_repair_payments_status_known"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_repair_payments_amount_positive")),
        sa.CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= amount_minor",
            name=op.f("ck_repair_payments_refunds"),
        ),
        sa.CheckConstraint(
            "method = 'stripe' OR received_on IS NOT NULL",
            name=op.f("ck_repair_payments_transfer_dated"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["repair_tickets.id"],
            name=op.f("fk_repair_payments_ticket_id_repair_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_repair_payments_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_payments")),
        sa.UniqueConstraint("provider_id", name=op.f("uq_repair_payments_provider_id")),
    )
    with op.batch_alter_table("repair_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repair_payments_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("repair_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_payments_ticket_id"))
    op.drop_table("repair_payments")
    with op.batch_alter_table("repair_tickets", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_repair_tickets_paid_not_negative"), type_="check")
        batch_op.drop_column("shipped_back_at")
        batch_op.drop_column("tracking_number")
        batch_op.drop_column("carrier")
        batch_op.drop_column("paid_minor")
