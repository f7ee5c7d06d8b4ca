"""assignments: the cadre's post (first secretary or team member) and start <= end

Revision ID: a7c31e94d2b6
Revises: a3c1f0e2b7d4
Create Date: 2026-12-10 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "a7c31e94d2b6"
down_revision = "a3c1f0e2b7d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("post", sa.String(length=20), nullable=False,
                                      server_default="first_secretary"))
        batch_op.create_check_constraint(
            op.f("ck_assignments_post"), "post IN ('first_secretary', 'team_member')")
        batch_op.create_check_constraint(
            op.f("ck_assignments_term_order"), "end_date IS NULL OR end_date >= start_date")


def downgrade():
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("assignments")}
    checks = {c["name"] for c in inspector.get_check_constraints("assignments")}
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        for name in ("ck_assignments_term_order", "ck_assignments_post"):
            if name in checks:
                batch_op.drop_constraint(op.f(name), type_="check")
        if "post" in columns:
            batch_op.drop_column("post")
