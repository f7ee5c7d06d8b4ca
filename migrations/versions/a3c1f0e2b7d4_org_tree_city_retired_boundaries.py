"""org tree: a city level above counties, retired units, village boundary polygons

Revision ID: a3c1f0e2b7d4
Revises: d562ac772a69
Create Date: 2026-12-05 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "a3c1f0e2b7d4"
down_revision = "d562ac772a69"
branch_labels = None
depends_on = None

_COLUMNS = ("retired_at", "boundary", "bbox_min_lat", "bbox_min_lon", "bbox_max_lat",
            "bbox_max_lon")


def upgrade():
    with op.batch_alter_table("org_units", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_org_units_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_org_units_kind"), "kind IN ('city', 'county', 'township', 'village')")
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("boundary", sa.Text(), nullable=True))
        for name in _COLUMNS[2:]:
            batch_op.add_column(sa.Column(name, sa.Double(), nullable=True))


def downgrade():
    # Cities cannot live in the old tree: their counties become roots again, then they go.
    bind = op.get_bind()
    cities = [row[0] for row in bind.execute(sa.text(
        "SELECT id FROM org_units WHERE kind = 'city'"))]
    if cities:
        raise RuntimeError("cannot downgrade: the org tree has cities; remove them first")
    columns = {c["name"] for c in sa.inspect(bind).get_columns("org_units")}
    with op.batch_alter_table("org_units", schema=None) as batch_op:
        for name in _COLUMNS:
            if name in columns:
                batch_op.drop_column(name)
        batch_op.drop_constraint(op.f("ck_org_units_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_org_units_kind"),
                                         "kind IN ('county', 'township', 'village')")
