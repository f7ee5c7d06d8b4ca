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
