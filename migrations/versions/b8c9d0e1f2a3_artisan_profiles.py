"""artisans: public profiles of the staff who make and check pieces

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-12-04 18:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b8c9d0e1f2a3"
down_revision = "a7b8c9d0e1f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "artisan_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("specialities", sa.String(length=300), nullable=False),
        sa.Column("portrait_key", sa.String(length=200), nullable=True),
        sa.Column("signature_key", sa.String(length=200), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "length(display_name) > 0", name=op.f("ck_artisan_profiles_display_name_given")
        ),
        sa.CheckConstraint("length(slug) > 0", name=op.f("ck_artisan_profiles_slug_given")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_artisan_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artisan_profiles")),
        sa.UniqueConstraint("slug", name=op.f("uq_artisan_profiles_slug")),
        sa.UniqueConstraint("user_id", name=op.f("uq_artisan_profiles_user_id")),
    )


def downgrade():
    op.drop_table("artisan_profiles")
