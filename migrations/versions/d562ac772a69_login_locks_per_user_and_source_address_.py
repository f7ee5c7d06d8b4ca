"""login locks per user and source (address or known device)

Revision ID: d562ac772a69
Revises: 7d1e5a2c9b40
Create Date: 2026-12-03 08:30:55

"""
import sqlalchemy as sa
from alembic import op

revision = "d562ac772a69"
down_revision = "7d1e5a2c9b40"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_login_locks_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_locks")),
        sa.UniqueConstraint("user_id", "source", name="uq_login_locks_source"),
    )
    with op.batch_alter_table("login_locks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_locks_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("login_locks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_locks_user_id"))
    op.drop_table("login_locks")
