"""invoice documents: an order may hold more than one issued document (invoice, balance receipt)

Revision ID: c5d6e7f8091a
Revises: b4c5d6e7f809
Create Date: 2026-12-05 00:06:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c5d6e7f8091a"
down_revision = "b4c5d6e7f809"
branch_labels = None
depends_on = None

KINDS = "kind IN ('invoice', 'balance_receipt')"


def upgrade():
    # Every document issued so far is an order's invoice: the server default names it so.
    with op.batch_alter_table("invoice_files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="invoice", nullable=False)
        )
        batch_op.drop_constraint(op.f("uq_invoice_files_order_id"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_invoice_files_order_id_kind"), ["order_id", "kind"]
        )
        batch_op.create_check_constraint(op.f("ck_invoice_files_kind_known"), KINDS)


def downgrade():
    # One document per order again: the receipts go (their files stay in storage, unlisted).
    op.execute("DELETE FROM invoice_files WHERE kind <> 'invoice'")
    with op.batch_alter_table("invoice_files", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_invoice_files_kind_known"), type_="check")
        batch_op.drop_constraint(op.f("uq_invoice_files_order_id_kind"), type_="unique")
        batch_op.create_unique_constraint(op.f("uq_invoice_files_order_id"), ["order_id"])
        batch_op.drop_column("kind")
