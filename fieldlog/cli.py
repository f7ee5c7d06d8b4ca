"""Flask commands: seed-demo, org add-root, create-user, audit verify, integrity recompute,
privacy purge."""
import click
from flask import Flask
from sqlalchemy import func, select

from fieldlog.errors import FieldlogError
from fieldlog.extensions import db
from fieldlog.services.integrity.hooks import recompute_everything


def register_cli(app: Flask) -> None:
    """Attach the project's commands to `flask`."""

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the database has users.")
    @click.option("--seed", default=20261121, help="Random seed, for a reproducible county.")
    def seed_demo(if_empty: bool, seed: int) -> None:
        """Build the demo county: townships, villages, households, users and past visits."""
        from fieldlog.models import User
        from fieldlog.services.demo.county import build_demo_county

        if if_empty and db.session.scalar(select(func.count()).select_from(User)):
            click.echo("Database already has data; demo county not loaded.")
            return
        try:
            summary = build_demo_county(seed=seed)
        except FieldlogError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(summary)
        visit_flags, photo_flags = recompute_everything()
        click.echo(f"Integrity flags computed: {visit_flags} on visits, {photo_flags} from photos.")

    @app.cli.group("integrity")
    def integrity_group() -> None:
        """Work with the computed integrity flags."""

    @integrity_group.command("recompute")
    def integrity_recompute() -> None:
        """Recompute the flags of every visit and photo (e.g. after changing a threshold)."""
        visit_flags, photo_flags = recompute_everything()
        click.echo(f"Integrity flags written: {visit_flags} on visits, {photo_flags} from photos.")

    @app.cli.group("jobs")
    def jobs_group() -> None:
        """The job queue (JOB_QUEUE): photo processing and integrity flags."""

    @jobs_group.command("worker")
    @click.option("--burst", is_flag=True, help="Work until the queue is empty, then stop.")
    def jobs_worker(burst: bool) -> None:
        """Work the Redis job queue until stopped (one process; run as many as needed)."""
        from fieldlog.services.jobs.queue import backend_name
        from fieldlog.services.jobs.worker import work

        if backend_name(app) != "redis":
            raise click.ClickException("JOB_QUEUE is not a redis:// URL: jobs run in the app "
                                       "process, no worker is needed.")
        work(app, burst=burst)

    @app.cli.group("audit")
    def audit_group() -> None:
        """Work with the audit trail."""

    @audit_group.command("verify")
    @click.option("--anchor", help="ID:HASH of an entry recorded earlier, to catch truncation.")
    def audit_verify(anchor: str | None) -> None:
        """Check that no audit entry was altered, deleted or reordered; exit 1 if any was."""
        from fieldlog.services.people.audit import verify

        parsed = None
        if anchor:
            entry_id, _, digest = anchor.partition(":")
            if not entry_id.isdigit() or len(digest) != 64:
                raise click.UsageError("--anchor takes ID:HASH as printed by a previous verify.")
            parsed = (int(entry_id), digest)
        verdict = verify(parsed)
        for problem in verdict.problems:
            click.echo(f"TAMPERED: {problem}", err=True)
        if not verdict.ok:
            # A head that follows tampered entries is not something to write down and trust.
            click.echo(f"{verdict.checked} entries checked; the head is not an anchor to keep.")
            raise SystemExit(1)
        click.echo(f"{verdict.checked} entries checked; head {verdict.head_id}:{verdict.head_hash}")
        click.echo("Audit trail intact.")

    @app.cli.group("privacy")
    def privacy_group() -> None:
        """Personal information: retention."""

    @privacy_group.command("purge")
    @click.option("--dry-run", is_flag=True, help="Change nothing; print what would be done.")
    @click.option("--days", type=click.IntRange(min=1), default=None,
                  help="Retention in days (default: PERSONAL_DATA_RETENTION_DAYS).")
    def privacy_purge(dry_run: bool, days: int | None) -> None:
        """Anonymise cadres and households whose work ended longer ago than the retention."""
        from flask import current_app

        from fieldlog.services.people.privacy import purge_personal_data

        plan = purge_personal_data(days or current_app.config["PERSONAL_DATA_RETENTION_DAYS"],
                                   dry_run=dry_run)
        click.echo(plan.summary())
        if dry_run:
            click.echo(f"Cadres: {', '.join(map(str, plan.user_ids)) or '-'}")
            click.echo(f"Households: {', '.join(plan.household_ids) or '-'}")

    @app.cli.group("org")
    def org_group() -> None:
        """The org tree's root (everything below it is set up in the admin pages)."""

    @org_group.command("add-root")
    @click.argument("code")
    @click.argument("name")
    @click.option("--city", is_flag=True, help="A city above counties (default: a county).")
    def org_add_root(code: str, name: str, city: bool) -> None:
        """Create a county (or a city) at the top of the tree, e.g. 520121 开阳县."""
        from fieldlog.services.org.admin import create_root

        try:
            unit = create_root("city" if city else "county", code, name)
        except FieldlogError as exc:
            details = "; ".join(f"{k}: {v}" for k, v in (exc.fields or {}).items())
            raise click.ClickException(f"{exc.message} {details}".strip()) from exc
        click.echo(f"Created {unit.kind} {unit.name} ({unit.code}). Next: flask create-user "
                   f"ADMIN --role admin --unit {unit.code} --name NAME")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--name", "display_name", required=True)
    @click.option("--role", type=click.Choice(["secretary", "supervisor", "inspector", "admin"]),
                  required=True)
    @click.option("--unit", "unit_code", required=True, help="Code of the org unit in scope.")
    @click.password_option()
    def create_user(username, display_name, role, unit_code, password) -> None:
        """Create a user scoped to an org unit (the password must meet the policy)."""
        from fieldlog.services.people.accounts import create_user as create

        try:
            user = create(username, display_name, role, unit_code, password)
        except FieldlogError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"Created {role} {user.username} for {user.scope_unit.name}.")
