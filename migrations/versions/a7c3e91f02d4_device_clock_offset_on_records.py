"""device clock offset on records (a phone's clock against the server's at sync)

Revision ID: a7c3e91f02d4
Revises: a7c3e91f0b52
Create Date: 2026-12-03 14:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "a7c3e91f02d4"
down_revision = "a7c3e91f0b52"
branch_labels = None
depends_on = None

TABLES = ("visits", "meetings", "actions", "goals", "ledger_items", "day_marks",
          "leave_requests")


def _has(table: str) -> bool:
    return "clock_offset_s" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade():
    for table in TABLES:
        if not _has(table):
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.add_column(sa.Column("clock_offset_s", sa.Integer(), nullable=True))


def downgrade():
    for table in TABLES:
        if _has(table):
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_column("clock_offset_s")
