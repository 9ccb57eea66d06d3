"""care plans: admin-set plans and the plan frozen on an order line

Revision ID: e3f4a5b6c70b
Revises: d2e3f4a5b60a
Create Date: 2026-12-04 17:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e3f4a5b6c70b"
down_revision = "d2e3f4a5b60a"
branch_labels = None
depends_on = None

FROZEN_WHOLE = (
    "(care_plan_rule IS NULL AND care_plan_minor = 0 AND care_plan_ends_on IS NULL)"
    " OR (care_plan_rule IN ('share', 'fixed') AND care_plan_rule_amount > 0)"
)


def upgrade():
    op.create_table(
        "care_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("years", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "years IS NULL OR years BETWEEN 1 AND 50", name=op.f("ck_care_plans_years_range")
        ),
        sa.CheckConstraint("rule IN ('share', 'fixed')", name=op.f("ck_care_plans_rule_known")),
        sa.CheckConstraint(
            "(rule = 'share' AND amount BETWEEN 1 AND 5000) OR (rule = 'fixed' AND amount > 0)",
            name=op.f("ck_care_plans_amount_in_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plans")),
        sa.UniqueConstraint("name", name=op.f("uq_care_plans_name")),
    )
    op.create_table(
        "care_plan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("rule", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "action IN ('offered', 'changed', 'retired')",
            name=op.f("ck_care_plan_changes_action_known"),
        ),
        sa.CheckConstraint(
            "rule IN ('share', 'fixed')", name=op.f("ck_care_plan_changes_rule_known")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_care_plan_changes_changed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["care_plans.id"],
            name=op.f("fk_care_plan_changes_plan_id_care_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan_changes")),
    )
    with op.batch_alter_table("care_plan_changes", schema=None) as batch_op:
        batch_op.create_index("ix_care_plan_changes_changed_at", ["changed_at"], unique=False)
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("care_plan_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("care_plan_name", sa.String(length=80), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("care_plan_years", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("care_plan_rule", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("care_plan_rule_amount", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("care_plan_minor", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("care_plan_ends_on", sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_order_lines_care_plan_id_care_plans"),
            "care_plans",
            ["care_plan_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_order_lines_care_plan_not_negative"), "care_plan_minor >= 0"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_order_lines_care_plan_frozen_whole"), FROZEN_WHOLE
        )


def downgrade():
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_order_lines_care_plan_frozen_whole"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_order_lines_care_plan_not_negative"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_order_lines_care_plan_id_care_plans"), type_="foreignkey"
        )
        batch_op.drop_column("care_plan_ends_on")
        batch_op.drop_column("care_plan_minor")
        batch_op.drop_column("care_plan_rule_amount")
        batch_op.drop_column("care_plan_rule")
        batch_op.drop_column("care_plan_years")
        batch_op.drop_column("care_plan_name")
        batch_op.drop_column("care_plan_id")
    with op.batch_alter_table("care_plan_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_care_plan_changes_changed_at")
    op.drop_table("care_plan_changes")
    op.drop_table("care_plans")
