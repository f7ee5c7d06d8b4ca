"""Run independent read-only queries side by side, on PostgreSQL in one shared snapshot.

A county report is a handful of grouped statements that do not depend on each other; run one
after the other they add up, run on separate connections they take as long as the slowest. Every
worker imports the caller's snapshot (`pg_export_snapshot`), so all figures describe the same
moment, exactly as if one connection had run them. SQLite (one writer, one file) runs them in turn.
"""
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import current_app
from sqlalchemy import text

from fieldlog.extensions import db


def run_side_by_side(tasks: list[Callable[[], Any]], *, setup: tuple[str, ...] = (),
                     enabled: bool = True) -> list[Any]:
    """Return the results of `tasks`; the last one runs here, the others on other connections.

    `setup` holds SET LOCAL statements every worker repeats (work_mem, jit …).
    """
    if not enabled or len(tasks) < 2 or db.engine.dialect.name != "postgresql":
        return [task() for task in tasks]
    app = current_app._get_current_object()
    snapshot = db.session.execute(text("SELECT pg_export_snapshot()")).scalar_one()
    if not all(c.isalnum() or c == "-" for c in snapshot):  # it is spliced into a SET below
        raise ValueError(f"unexpected snapshot id {snapshot!r}")

    def in_snapshot(task: Callable[[], Any]) -> Any:
        with app.app_context():
            try:
                db.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
                db.session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                for statement in setup:
                    db.session.execute(text(statement))
                return task()
            finally:
                db.session.rollback()

    with ThreadPoolExecutor(max_workers=len(tasks) - 1) as pool:
        futures = [pool.submit(in_snapshot, task) for task in tasks[:-1]]
        last = tasks[-1]()
        return [future.result() for future in futures] + [last]
