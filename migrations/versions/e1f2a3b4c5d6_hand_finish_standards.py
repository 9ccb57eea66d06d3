"""hand-finish standards per product kind, bench records, QC overrides, bench media on passports

Revision ID: e1f2a3b4c5d6
Revises: d0e1f2a3b4c5
Create Date: 2026-12-04 21:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e1f2a3b4c5d6"
down_revision = "d0e1f2a3b4c5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "hand_finish_standards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("min_minutes", sa.Integer(), nullable=False),
        sa.Column("grade_descriptions", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "min_minutes >= 0", name=op.f("ck_hand_finish_standards_min_minutes_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_hand_finish_standards_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hand_finish_standards")),
        sa.UniqueConstraint("kind", name=op.f("uq_hand_finish_standards_kind")),
    )
    op.create_table(
        "hand_finish_reference_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("upload_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["hand_finish_standards.id"],
            name=op.f("fk_hand_finish_reference_photos_standard_id_hand_finish_standards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hand_finish_reference_photos")),
    )
    op.create_index(
        op.f("ix_hand_finish_reference_photos_standard_id"),
        "hand_finish_reference_photos",
        ["standard_id"],
        unique=False,
    )
    op.create_table(
        "bench_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("artisan_id", sa.Integer(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("tools", sa.String(length=500), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "minutes > 0 AND minutes <= 1440", name=op.f("ck_bench_sessions_minutes_in_a_day")
        ),
        sa.ForeignKeyConstraint(
            ["artisan_id"],
            ["users.id"],
            name=op.f("fk_bench_sessions_artisan_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_bench_sessions_order_line_id_order_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bench_sessions")),
    )
    op.create_index(
        "ix_bench_sessions_line", "bench_sessions", ["order_line_id", "id"], unique=False
    )
    op.create_table(
        "bench_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("upload_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("on_passport", sa.Boolean(), nullable=False),
        sa.Column("chosen_by_id", sa.Integer(), nullable=True),
        sa.Column("chosen_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chosen_by_id"],
            ["users.id"],
            name=op.f("fk_bench_media_chosen_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["bench_sessions.id"],
            name=op.f("fk_bench_media_session_id_bench_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bench_media")),
    )
    op.create_index(op.f("ix_bench_media_session_id"), "bench_media", ["session_id"], unique=False)
    op.create_table(
        "qc_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("admin_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("minutes_recorded", sa.Integer(), nullable=False),
        sa.Column("minutes_required", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("qc_check_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(reason) > 0", name=op.f("ck_qc_overrides_reason_given")),
        sa.ForeignKeyConstraint(
            ["admin_id"], ["users.id"], name=op.f("fk_qc_overrides_admin_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_qc_overrides_order_line_id_order_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["qc_check_id"],
            ["qc_checks.id"],
            name=op.f("fk_qc_overrides_qc_check_id_qc_checks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qc_overrides")),
        sa.UniqueConstraint("qc_check_id", name=op.f("uq_qc_overrides_qc_check_id")),
    )
    op.create_index("ix_qc_overrides_line", "qc_overrides", ["order_line_id", "id"], unique=False)


def downgrade():
    op.drop_index("ix_qc_overrides_line", table_name="qc_overrides")
    op.drop_table("qc_overrides")
    op.drop_index(op.f("ix_bench_media_session_id"), table_name="bench_media")
    op.drop_table("bench_media")
    op.drop_index("ix_bench_sessions_line", table_name="bench_sessions")
    op.drop_table("bench_sessions")
    op.drop_index(
        op.f("ix_hand_finish_reference_photos_standard_id"),
        table_name="hand_finish_reference_photos",
    )
    op.drop_table("hand_finish_reference_photos")
    op.drop_table("hand_finish_standards")
