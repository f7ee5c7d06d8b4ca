"""covering visit indexes for the progress table and attendance (PostgreSQL)

Revision ID: 7d1e5a2c9b40
Revises: 62ee2b41f7a7
Create Date: 2026-11-22 03:40:00

"""
from alembic import op

revision = "7d1e5a2c9b40"
down_revision = "62ee2b41f7a7"
branch_labels = None
depends_on = None


def _recreate(include: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no INCLUDE; its indexes stay as they are
    op.drop_index("ix_visits_village_occurred", table_name="visits")
    op.drop_index("ix_visits_author_occurred", table_name="visits")
    op.create_index("ix_visits_village_occurred", "visits", ["village_id", "occurred_at"],
                    postgresql_include=["household_id", "author_id"] if include else [])
    op.create_index("ix_visits_author_occurred", "visits", ["author_id", "occurred_at"],
                    postgresql_include=["village_id", "lat", "lon"] if include else [])


def upgrade():
    _recreate(include=True)


def downgrade():
    _recreate(include=False)
