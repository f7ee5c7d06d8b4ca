"""Bulk inserts (COPY on PostgreSQL) store what an INSERT would store, or nothing."""
import uuid
from datetime import datetime

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from fieldlog.extensions import db
from fieldlog.models import Household, Visit
from fieldlog.services.common.bulk import insert_rows

WHEN = datetime(2026, 3, 2, 9, 15, 30, 250000)


def visit_row(world, household_id: str, **columns) -> dict:
    """A visit row with only the columns sync always gives; the rest are the model's defaults."""
    return {"id": str(uuid.uuid4()), "author_id": world.sec1.id, "village_id": world.v1.id,
            "household_id": household_id, "occurred_at": WHEN, "device_created_at": WHEN,
            "content_hash": "0" * 64, "lat": 26.5, "lon": None, "follow_up": True, **columns}


def visits() -> int:
    return db.session.scalar(select(func.count()).select_from(Visit))


def test_rows_get_the_column_defaults_and_their_values_exactly(world):
    rows = [visit_row(world, world.h1[n % 5].id, heard=f"第{n}户：\t\"引号\"\\n 😀")
            for n in range(300)]
    insert_rows(Visit.__table__, rows)
    db.session.commit()
    stored = {v.id: v for v in db.session.scalars(select(Visit))}
    assert len(stored) == 300
    for n, row in enumerate(rows):
        visit = stored[row["id"]]
        assert visit.heard == f"第{n}户：\t\"引号\"\\n 😀" and visit.requests == ""  # default
        assert (visit.version, visit.status, visit.photo_count) == (1, "submitted", 0)
        assert visit.received_at is not None and visit.updated_at is None
        assert visit.occurred_at == WHEN and visit.follow_up is True
        assert (visit.lat, visit.lon) == (26.5, None)


def test_rows_may_refer_to_objects_added_earlier_in_the_transaction(world):
    household = Household(id=str(uuid.uuid4()), village_id=world.v1.id, head_name="新户",
                          house_label="3组1号", member_count=2)
    db.session.add(household)  # pending, not flushed: the insert must see it
    insert_rows(Visit.__table__, [visit_row(world, household.id)])
    db.session.commit()
    assert db.session.scalar(select(Visit.household_id)) == household.id


def test_a_broken_constraint_raises_integrity_error_and_stores_nothing(world):
    rows = [visit_row(world, world.h1[0].id) for _ in range(5)]
    insert_rows(Visit.__table__, rows[:1])
    db.session.commit()
    with pytest.raises(IntegrityError):
        insert_rows(Visit.__table__, rows[1:] + rows[:1])  # the last one exists
    db.session.rollback()
    assert visits() == 1


def test_the_insert_is_one_statement_the_engine_events_see(world):
    rows = [visit_row(world, world.h1[0].id) for _ in range(50)]
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        insert_rows(Visit.__table__, rows)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    expected = "COPY" if db.engine.dialect.name == "postgresql" else "INSERT"
    assert [s.split()[0].upper() for s in statements] == [expected]
    db.session.commit()
    assert visits() == 50


def test_no_rows_is_no_statement(world):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        insert_rows(Visit.__table__, [])
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert statements == []
