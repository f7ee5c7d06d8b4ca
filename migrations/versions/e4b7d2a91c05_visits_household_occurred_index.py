"""visits: an index on (household_id, occurred_at) in place of the one on household_id

Home asks, for each household of a village, whether it has a visit this month and when its
last visit was: with the time in the index both are answered from the index alone, not by
reading every visit of the household (the old index still serves lookups by household).

Revision ID: e4b7d2a91c05
Revises: a7c3e91f02d4
Create Date: 2026-12-03 15:05:00

"""
from alembic import op

revision = "e4b7d2a91c05"
down_revision = "a7c3e91f02d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_household_occurred", ["household_id", "occurred_at"],
                              unique=False)
        batch_op.drop_index("ix_visits_household_id")


def downgrade():
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_household_id", ["household_id"], unique=False)
        batch_op.drop_index("ix_visits_household_occurred")
