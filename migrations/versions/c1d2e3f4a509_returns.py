"""returns: return requests within the window, the order lines they cover (one live return
per line) and the buyer's photos

Revision ID: c1d2e3f4a509
Revises: b0c1d2e3f408
Create Date: 2026-12-04 14:36:12.022621

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c1d2e3f4a509"
down_revision = "b0c1d2e3f408"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "return_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("ra_number", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="requested", nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("details", sa.Text(), server_default="", nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("refusal_reason", sa.String(length=500), server_default="", nullable=False),
        sa.Column("received_by_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("inspected_by_id", sa.Integer(), nullable=True),
        sa.Column("inspected_at", sa.DateTime(), nullable=True),
        sa.Column("inspection_items", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("inspection_passed", sa.Boolean(), nullable=True),
        sa.Column("inspection_notes", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("refund_method", sa.String(length=8), server_default="", nullable=False),
        sa.Column("refund_reference", sa.String(length=120), server_default="", nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refunded_by_id", sa.Integer(), nullable=True),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.Column("refund_ids", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.CheckConstraint(
            "reason IN ('changed_mind', 'fit', 'not_as_described', 'fault', 'damaged')",
            name=op.f("ck_return_requests_reason_known"),
        ),
        sa.CheckConstraint(
            "refund_method IN ('', 'card', 'bank')",
            name=op.f("ck_return_requests_refund_method_known"),
        ),
        sa.CheckConstraint(
            "status <> 'approved' OR ra_number IS NOT NULL",
            name=op.f("ck_return_requests_approved_has_ra"),
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'refused', 'approved', 'received', 'inspected', 'refunded')",
            name=op.f("ck_return_requests_status_known"),
        ),
        sa.CheckConstraint(
            "refunded_minor >= 0", name=op.f("ck_return_requests_refunded_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_return_requests_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["inspected_by_id"],
            ["users.id"],
            name=op.f("fk_return_requests_inspected_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_return_requests_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["received_by_id"],
            ["users.id"],
            name=op.f("fk_return_requests_received_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["refunded_by_id"],
            ["users.id"],
            name=op.f("fk_return_requests_refunded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_return_requests_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_requests")),
        sa.UniqueConstraint("ra_number", name=op.f("uq_return_requests_ra_number")),
    )
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_requests_order_id"), ["order_id"], unique=False)

    op.create_table(
        "return_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("upload", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["return_requests.id"],
            name=op.f("fk_return_photos_return_id_return_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_photos")),
    )
    with op.batch_alter_table("return_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_photos_return_id"), ["return_id"], unique=False)

    op.create_table(
        "return_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("outcome", sa.String(length=12), server_default="", nullable=False),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_return_lines_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_return_lines_order_line_id_order_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["return_requests.id"],
            name=op.f("fk_return_lines_return_id_return_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_lines")),
    )
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_lines_return_id"), ["return_id"], unique=False)
        batch_op.create_index(
            batch_op.f("uq_return_lines_active_line"),
            ["order_line_id"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )


def downgrade():
    with op.batch_alter_table("return_lines", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("uq_return_lines_active_line"),
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )
        batch_op.drop_index(batch_op.f("ix_return_lines_return_id"))

    op.drop_table("return_lines")
    with op.batch_alter_table("return_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_photos_return_id"))

    op.drop_table("return_photos")
    with op.batch_alter_table("return_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_requests_order_id"))

    op.drop_table("return_requests")
