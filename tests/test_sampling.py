"""Spot-check samples: stratified by cadre, weighted toward flags, reproducible from the seed."""
import json
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import select

from fieldlog.errors import Forbidden, Invalid
from fieldlog.extensions import db
from fieldlog.models import AuditEntry, CheckTask, Flag, User, Visit
from fieldlog.models.base import utcnow
from fieldlog.services.inspection.sampling import (
    Candidate,
    allocate,
    choose,
    draw_sample,
    preview_sample,
)

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
_NS = uuid.UUID("0f9c3f0e-6f39-4f0f-9d0e-3a7c1f2b5d11")


def add_visit(sec: User, household, occurred_at: datetime, key: str | None = None) -> Visit:
    """Store a visit as sync would (a fixed UUID when `key` is given, for pinned samples)."""
    record_id = str(uuid.uuid5(_NS, key)) if key else str(uuid.uuid4())
    visit = Visit(id=record_id, author_id=sec.id, village_id=household.village_id,
                  household_id=household.id, occurred_at=occurred_at,
                  device_created_at=occurred_at, heard="家里老人身体还好。", requests="",
                  content_hash="0" * 64)
    db.session.add(visit)
    return visit


def flag(visit: Visit, kind: str = "far_from_village", explained: bool = False) -> Flag:
    """Insert a flag directly (the flags engine is not what these tests are about)."""
    row = Flag(record_type="visit", record_id=visit.id, author_id=visit.author_id,
               village_id=visit.village_id, kind=kind, params="{}",
               explained_at=utcnow() if explained else None)
    db.session.add(row)
    return row


@pytest.fixture
def march(world):
    """sec1: 10 visits, sec2: 4, sec3: 1 in March 2026 (UTC noon), plus one in April."""
    made = {"sec1": [], "sec2": [], "sec3": []}
    for name, households, count in (("sec1", world.h1, 10), ("sec2", world.h2, 4),
                                    ("sec3", world.h3, 1)):
        sec = getattr(world, name)
        for n in range(count):
            made[name].append(add_visit(sec, households[n % len(households)],
                                        datetime(2026, 3, 1 + n * 2, 4, 0), key=f"{name}-{n}"))
    add_visit(world.sec1, world.h1[0], datetime(2026, 4, 2, 4, 0), key="april")
    db.session.commit()
    return made


def authors_of(record_ids: list[str]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for author in db.session.scalars(select(Visit.author_id).where(Visit.id.in_(record_ids))):
        counts[author] = counts.get(author, 0) + 1
    return counts


def test_every_cadre_is_represented_and_the_rest_is_proportional(world, march):
    sample = draw_sample(world.inspector, world.county.id, *MARCH, size=6, seed=11)
    assert len(sample.tasks) == 6
    counts = authors_of([t.record_id for t in sample.tasks])
    # One each, then the 3 left go 10:4 between the cadres who have more (sec3 has only one).
    assert counts == {world.sec1.id: 3, world.sec2.id: 2, world.sec3.id: 1}
    assert {t.village_id for t in sample.tasks} == {world.v1.id, world.v2.id, world.v3.id}


def test_allocation_is_capped_by_what_a_cadre_has():
    assert allocate({1: 10, 2: 4, 3: 1}, 6) == {1: 3, 2: 2, 3: 1}
    assert allocate({1: 10, 2: 4, 3: 1}, 14) == {1: 9, 2: 4, 3: 1}
    assert allocate({1: 10, 2: 4, 3: 1}, 500) == {1: 10, 2: 4, 3: 1}
    assert allocate({1: 2, 2: 2}, 3) == {1: 2, 2: 1}  # a tie goes to the lower id


def test_a_size_below_the_number_of_cadres_is_refused_with_the_minimum(world, march):
    with pytest.raises(Invalid) as refused:
        draw_sample(world.inspector, world.county.id, *MARCH, size=2, seed=1)
    assert refused.value.code == "size_below_cadres"
    assert "3 cadres" in refused.value.message and "at least 3" in refused.value.message
    # A township scope has two cadres: two checks are enough there.
    assert len(draw_sample(world.inspector, world.t1.id, *MARCH, size=2, seed=1).tasks) == 2


def test_the_same_seed_draws_the_same_records_again(world, march):
    sample = draw_sample(world.inspector, world.county.id, *MARCH, size=7, seed=20260301)
    drawn = sorted(t.record_id for t in sample.tasks)
    again = preview_sample(world.inspector, world.county.id, *MARCH, size=7, seed=20260301)
    assert sorted(again) == drawn
    other = preview_sample(world.inspector, world.county.id, *MARCH, size=7, seed=20260302)
    assert sorted(other) != drawn
    assert db.session.scalar(select(CheckTask.sample_id).limit(1)) == sample.id
    assert db.session.scalars(select(CheckTask.id)).all().__len__() == 7  # preview stores nothing


def test_a_pinned_seed_gives_the_same_sample_on_every_database_and_release(world, march):
    """The records are fixed UUIDs, so this pins the algorithm: old samples must stay redrawable."""
    flag(march["sec1"][3])
    db.session.commit()
    got = preview_sample(world.inspector, world.county.id, *MARCH, size=6, seed=7)
    keys = {str(uuid.uuid5(_NS, f"{name}-{n}")): f"{name}-{n}"
            for name, count in (("sec1", 10), ("sec2", 4), ("sec3", 1)) for n in range(count)}
    assert sorted(keys[r] for r in got) == PINNED_SEED_7


PINNED_SEED_7 = ["sec1-6", "sec1-7", "sec1-9", "sec2-0", "sec2-2", "sec3-0"]


def test_the_seed_is_random_when_not_given_and_kept_and_audited(world, march):
    sample = draw_sample(world.inspector, world.county.id, *MARCH, size=5)
    assert 0 <= sample.seed < 10**9
    again = preview_sample(world.inspector, world.county.id, *MARCH, size=5, seed=sample.seed)
    assert sorted(again) == sorted(t.record_id for t in sample.tasks)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "sample.draw"))
    details = json.loads(entry.details)
    assert entry.actor_id == world.inspector.id and entry.object_id == str(sample.id)
    assert details["seed"] == sample.seed and details["size"] == 5 and details["drawn"] == 5
    assert details["population"] == 15


def test_the_period_is_in_local_dates(world):
    # 2026-03-31 17:30 UTC is 1 April 01:30 in Shanghai: an April record, not a March one.
    late = add_visit(world.sec1, world.h1[0], datetime(2026, 3, 31, 17, 30))
    early = add_visit(world.sec1, world.h1[1], datetime(2026, 2, 28, 16, 30))  # 1 March 00:30
    db.session.commit()
    march_ids = preview_sample(world.inspector, world.county.id, *MARCH, size=5, seed=3)
    assert march_ids == [early.id]
    april = preview_sample(world.inspector, world.county.id, date(2026, 4, 1),
                           date(2026, 4, 30), size=5, seed=3)
    assert april == [late.id]


def test_flagged_records_are_drawn_more_often_over_many_seeds(world):
    """40 records of one cadre, 8 flagged; 5 drawn per seed over 300 fixed seeds.

    The records' UUIDs are random, so the draws differ from run to run: 300 seeds keep the
    mean within a few hundredths of its expectation (~2.0 at weight 3), far from the bounds.
    """
    visits = [add_visit(world.sec1, world.h1[n % 5], datetime(2026, 3, 2, 2, n))
              for n in range(40)]
    for visit in visits[::5]:
        flag(visit)
    flag(visits[1], explained=True)  # explained flags do not weigh
    db.session.commit()
    flagged = {v.id for v in visits[::5]}

    def mean_flagged(weight: float) -> float:
        drawn = [preview_sample(world.inspector, world.v1.id, *MARCH, size=5, seed=seed,
                                flag_weight=weight) for seed in range(1000, 1300)]
        return sum(len(flagged.intersection(ids)) for ids in drawn) / len(drawn)

    # Without weighting 5 × 8/40 = 1.0 flagged records per sample; weight 3 makes it ~2.2.
    assert 0.7 <= mean_flagged(1.0) <= 1.3
    assert mean_flagged(3.0) >= 1.7
    sample = draw_sample(world.inspector, world.v1.id, *MARCH, size=5, seed=1000)
    assert {t.record_id for t in sample.tasks if t.flagged} <= flagged


def test_weighting_without_a_database_over_many_seeds():
    population = [Candidate(f"{n:04d}", 1, 1, None, n < 10) for n in range(100)]
    counts = {1.0: 0, 3.0: 0, 10.0: 0}
    for weight in counts:
        for seed in range(500):
            counts[weight] += sum(c.flagged for c in choose(population, 10, seed, weight))
    # Expected flagged per sample: 1.0 unweighted; clearly more at 3, more still at 10.
    assert 400 <= counts[1.0] <= 600
    assert counts[3.0] >= 1.8 * counts[1.0]
    assert counts[10.0] > counts[3.0]


def test_a_scope_outside_the_inspectors_is_refused(world, march):
    township_inspector = User(username="insp_t1", display_name="INSP_T1", role="inspector",
                              scope_unit_id=world.t1.id, password_hash="x")
    db.session.add(township_inspector)
    db.session.commit()
    with pytest.raises(Forbidden):
        draw_sample(township_inspector, world.v3.id, *MARCH, size=5, seed=1)
    with pytest.raises(Forbidden):
        draw_sample(township_inspector, world.county.id, *MARCH, size=5, seed=1)
    sample = draw_sample(township_inspector, None, *MARCH, size=5, seed=1)  # own scope: T1
    assert {t.village_id for t in sample.tasks} <= {world.v1.id, world.v2.id}
    with pytest.raises(Forbidden):
        draw_sample(world.sup_county, world.county.id, *MARCH, size=5, seed=1)


@pytest.mark.parametrize(("args", "field", "words"), [
    ({"size": 0}, "size", "from 1 to 500"),
    ({"size": 501}, "size", "from 1 to 500"),
    ({"start": date(2026, 4, 1)}, "period_start", "on or before its end"),
    ({"start": date(2025, 3, 30)}, "period_end", "at most one year"),
    ({"flag_weight": 0.5}, "flag_weight", "from 1 to 20"),
    ({"seed": -1}, "seed", "from 0 to"),
])
def test_bad_input_is_refused_with_a_clear_message(world, march, args, field, words):
    params = {"size": 5, "start": MARCH[0], "end": MARCH[1], "seed": 1, "flag_weight": 3.0}
    params.update(args)
    with pytest.raises(Invalid) as refused:
        draw_sample(world.inspector, world.county.id, params["start"], params["end"],
                    params["size"], seed=params["seed"], flag_weight=params["flag_weight"])
    assert field in refused.value.fields and words in refused.value.message


def test_a_whole_year_is_allowed_and_an_empty_period_is_explained(world, march):
    assert draw_sample(world.inspector, world.county.id, date(2025, 4, 1), date(2026, 3, 31),
                       size=5, seed=1).tasks
    with pytest.raises(Invalid) as refused:
        draw_sample(world.inspector, world.county.id, date(2025, 1, 1), date(2025, 1, 31),
                    size=5, seed=1)
    assert refused.value.code == "empty_population"
