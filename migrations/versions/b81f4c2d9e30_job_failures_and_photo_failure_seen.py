"""in-process job failures (dead letters without Redis); when a failed photo was seen

Revision ID: b81f4c2d9e30
Revises: e4b7d2a91c05
Create Date: 2026-12-03 15:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b81f4c2d9e30"
down_revision = "e4b7d2a91c05"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_failures",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_failures")),
        sa.UniqueConstraint("key", name=op.f("uq_job_failures_key")),
    )
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure_seen_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_column("failure_seen_at")
    op.drop_table("job_failures")
