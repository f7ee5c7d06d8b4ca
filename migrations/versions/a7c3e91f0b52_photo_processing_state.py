"""photo processing state: processing → ready or failed (jobs off the request)

Revision ID: a7c3e91f0b52
Revises: a7c31e94d2b6
Create Date: 2026-12-10 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "a7c3e91f0b52"
down_revision = "a7c31e94d2b6"
branch_labels = None
depends_on = None


def upgrade():
    # Every photo stored before this revision was processed in its request: it is ready.
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=12), nullable=False,
                                      server_default="ready"))
        batch_op.add_column(sa.Column("failure", sa.String(length=32), nullable=True))


def downgrade():
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("photos")}
    with op.batch_alter_table("photos", schema=None) as batch_op:
        if "failure" in columns:
            batch_op.drop_column("failure")
        if "state" in columns:
            batch_op.drop_column("state")
