"""Insert many rows in one go, in the session's transaction: COPY on PostgreSQL.

A sync batch writes hundreds of rows to three tables (the records, their versions, their audit
entries). psycopg's executemany sends one INSERT per row (pipelined); `COPY … FROM STDIN`
streams them all as one statement: for 500 visit rows about half the time in the database and
a third of the client's CPU (docs/deploy.md, "Sync ingest"). COPY bypasses SQLAlchemy, so the
rows get here what `insert(table)` would give them: the Python-side column defaults and the
types' bind processing. A constraint the rows break raises SQLAlchemy's IntegrityError, and the
engine's cursor events see the COPY, as they would an INSERT. Other databases (SQLite) get
`insert(table)` with the list of rows.
"""
from typing import Any

import psycopg
from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError

from fieldlog.extensions import db


def insert_rows(table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table`; no-op for none."""
    if not rows:
        return
    session = db.session
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    session.flush()  # objects added earlier in this transaction go first, as with an INSERT
    given = list(rows[0])
    defaults = [column for column in table.columns if column.name not in rows[0]
                and column.default is not None
                and (column.default.is_scalar or column.default.is_callable)]
    names = given + [column.name for column in defaults]
    processors = [table.columns[name].type._cached_bind_processor(dialect) for name in given]
    quoted = ", ".join(f'"{name}"' for name in names)
    statement = f'COPY "{table.name}" ({quoted}) FROM STDIN'
    connection = session.connection()
    cursor = connection.connection.driver_connection.cursor()
    # Listeners of the engine's cursor events (statement counts in tests, query logs) see the
    # COPY as one statement, as they would see an executemany.
    connection.dispatch.before_cursor_execute(connection, cursor, statement, rows, None, True)
    try:
        with cursor, cursor.copy(statement) as copy:
            for row in rows:
                if len(row) != len(given):
                    raise ValueError(f"rows for {table.name} differ in their columns")
                values = [row[name] if process is None else process(row[name])
                          for name, process in zip(given, processors, strict=True)]
                values += [_default(column) for column in defaults]
                copy.write_row(values)
    except psycopg.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
    connection.dispatch.after_cursor_execute(connection, cursor, statement, rows, None, True)


def _default(column) -> Any:
    """Return a column's Python-side default for one row, as an INSERT would compute it."""
    default = column.default
    return default.arg(None) if default.is_callable else default.arg
