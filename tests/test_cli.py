"""The flask commands an operator runs."""
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, User


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_create_user_applies_the_password_policy(app, world):
    weak = run(app, "create-user", "sec9", "--name", "新书记", "--role", "secretary",
               "--unit", "V1", "--password", "demo1234")
    assert weak.exit_code != 0 and "Error" in weak.output
    assert db.session.scalar(select(User).where(User.username == "sec9")) is None
    good = run(app, "create-user", "sec9", "--name", "新书记", "--role", "secretary",
               "--unit", "V1", "--password", "Qingyan-2026-bd7")
    assert good.exit_code == 0, good.output
    created = db.session.scalar(select(User).where(User.username == "sec9"))
    assert created.scope_unit_id == world.v1.id
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create"))


def test_create_user_refuses_bad_scope_and_taken_names(app, world):
    township = run(app, "create-user", "sec9", "--name", "x", "--role", "secretary",
                   "--unit", "T1", "--password", "Qingyan-2026-bd7")
    assert township.exit_code != 0 and "village" in township.output
    taken = run(app, "create-user", "sec1", "--name", "x", "--role", "secretary",
                "--unit", "V1", "--password", "Qingyan-2026-bd7")
    assert taken.exit_code != 0 and "taken" in taken.output


def test_audit_verify_reports_an_intact_trail(app, world, login):
    login("sec1")
    result = run(app, "audit", "verify")
    assert result.exit_code == 0 and "intact" in result.output


def test_a_fresh_database_gets_its_county_then_its_first_admin(app):
    """The pages create units only under one an admin holds: the root and its first admin
    come from the command line (README, "A new county")."""
    from fieldlog.models import OrgUnit

    bad = run(app, "org", "add-root", "52a", "开阳县")
    assert bad.exit_code != 0 and "6 至 12 位数字" in bad.output
    made = run(app, "org", "add-root", "520121", "开阳县")
    assert made.exit_code == 0, made.output
    county = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "520121"))
    assert county.kind == "county" and county.parent_id is None and county.path
    again = run(app, "org", "add-root", "520121", "别的县")
    assert again.exit_code != 0 and "已被其他单位使用" in again.output
    city = run(app, "org", "add-root", "520100", "贵阳市", "--city")
    assert city.exit_code == 0, city.output
    admin = run(app, "create-user", "kaiyang-admin", "--name", "县组织部", "--role", "admin",
                "--unit", "520121", "--password", "Kaiyang-setup-2026")
    assert admin.exit_code == 0, admin.output
    user = db.session.scalar(select(User).where(User.username == "kaiyang-admin"))
    assert user.scope_unit_id == county.id and user.role == "admin"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "org.create"))
