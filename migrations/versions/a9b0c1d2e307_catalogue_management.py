"""catalogue management: product status and details, sizes and grams per metal, batch sourcing
and documents, image variants, overlay calibration, rate history, bench capacity, policy pages

Revision ID: a9b0c1d2e307
Revises: f7a8b9c0d106
Create Date: 2026-12-04

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a9b0c1d2e307"
down_revision = "f7a8b9c0d106"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bench_capacity_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hours_per_week", sa.Integer(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "hours_per_week > 0", name=op.f("ck_bench_capacity_changes_hours_positive")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_bench_capacity_changes_changed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bench_capacity_changes")),
    )
    op.create_table(
        "policy_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_policy_pages_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_pages")),
        sa.UniqueConstraint("slug", name=op.f("uq_policy_pages_slug")),
    )
    op.create_table(
        "rate_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("old_value", sa.Integer(), nullable=False),
        sa.Column("new_value", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "subject IN ('stone', 'bench', 'certification', 'shipping', 'insurance')",
            name=op.f("ck_rate_changes_subject_known"),
        ),
        sa.CheckConstraint(
            "old_value >= 0 AND new_value >= 0", name=op.f("ck_rate_changes_values_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_rate_changes_changed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_changes")),
    )
    with op.batch_alter_table("rate_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rate_changes_subject_changed", ["subject", "changed_at"], unique=False
        )

    op.create_table(
        "product_sizes",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("fit_size_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fit_size_id"], ["fit_sizes.id"], name=op.f("fk_product_sizes_fit_size_id_fit_sizes")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_sizes_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "fit_size_id", name=op.f("pk_product_sizes")),
    )
    op.create_table(
        "batch_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=80), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('assay', 'source', 'gem', 'photo', 'video', 'other')",
            name=op.f("ck_batch_documents_kind_known"),
        ),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_batch_documents_size_not_negative")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["edition_runs.id"],
            name=op.f("fk_batch_documents_run_id_edition_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_batch_documents_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_documents")),
    )
    with op.batch_alter_table("edition_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sourcing_statement", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("overlays", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calibrated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("calibrated_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_overlays_calibrated_by_id_users"),
            "users",
            ["calibrated_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Every overlay so far had its band set in code: it counts as calibrated.
    op.execute("UPDATE overlays SET calibrated_at = CURRENT_TIMESTAMP")

    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("width", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("height", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("variants", sa.JSON(), nullable=True))

    with op.batch_alter_table("product_metals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weight_mg", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_product_metals_weight_positive"), "weight_mg > 0")

    with op.batch_alter_table("product_stones", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("treatment", sa.String(length=120), server_default="", nullable=False)
        )

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("certification", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("fit_notes", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="published", nullable=False)
        )
        batch_op.add_column(sa.Column("published_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_products_status_known"), "status IN ('draft', 'published', 'retired')"
        )
    # Every product so far was on sale from the day it was made.
    op.execute("UPDATE products SET published_at = created_at")


def downgrade():
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_products_status_known"), type_="check")
        batch_op.drop_column("retired_at")
        batch_op.drop_column("published_at")
        batch_op.drop_column("status")
        batch_op.drop_column("fit_notes")
        batch_op.drop_column("certification")

    with op.batch_alter_table("product_stones", schema=None) as batch_op:
        batch_op.drop_column("treatment")

    with op.batch_alter_table("product_metals", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_product_metals_weight_positive"), type_="check")
        batch_op.drop_column("weight_mg")

    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.drop_column("variants")
        batch_op.drop_column("height")
        batch_op.drop_column("width")

    with op.batch_alter_table("overlays", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_overlays_calibrated_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("calibrated_by_id")
        batch_op.drop_column("calibrated_at")

    with op.batch_alter_table("edition_runs", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("sourcing_statement")

    op.drop_table("batch_documents")
    op.drop_table("product_sizes")
    with op.batch_alter_table("rate_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_changes_subject_changed")

    op.drop_table("rate_changes")
    op.drop_table("policy_pages")
    op.drop_table("bench_capacity_changes")
