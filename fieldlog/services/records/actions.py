"""Six-one actions (六个一), five-one goals (五个一) and editing a record: read-side queries."""
import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, select

from fieldlog.domain import (
    ACTION_STATE_LABELS,
    ACTION_TYPE_LABELS,
    GOAL_TYPE_LABELS,
    record_title,
)
from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    Goal,
    GoalLink,
    Meeting,
    OrgUnit,
    Photo,
    RecordVersion,
    ReviewDecision,
    User,
)
from fieldlog.models.records import ACTION_STATES, ACTION_TYPES, GOAL_TYPES
from fieldlog.services.records.meetings import (
    Place,
    linked_goals,
    meeting_label,
    photo_counts,
    photos_of,
    place_of,
    scoped,
)
from fieldlog.services.register.coverage import Progress, village_coverage

ACTION_LABELS, STATE_LABELS, GOAL_LABELS = (ACTION_TYPE_LABELS, ACTION_STATE_LABELS,
                                           GOAL_TYPE_LABELS)
RECORD_MODELS = {"meeting": Meeting, "action": Action, "goal": Goal}


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def goal_label(code: str) -> str:
    return str(GOAL_LABELS.get(code, code))


def state_label(code: str) -> str:
    return str(STATE_LABELS.get(code, code))


def _best_state(states: list[str]) -> str | None:
    """The furthest state among a type's records: done > under way > planned."""
    for state in reversed(ACTION_STATES):
        if state in states:
            return state
    return None


def pledge_overdue(action: Action, today: date) -> bool:
    """A pledge not done whose promised date has passed."""
    return (action.action_type == "pledge" and action.state != "done"
            and action.due_date is not None and action.due_date < today)


@dataclass
class BoardRow:
    code: str
    actions: list[Action] = field(default_factory=list)

    @property
    def label(self) -> str:
        return action_label(self.code)

    @property
    def state(self) -> str | None:
        return _best_state([a.state for a in self.actions])


@dataclass
class Board:
    coverage: Progress
    since: date | None
    rows: list[BoardRow]
    photos: dict[str, int]


def six_one_board(user: User, village: OrgUnit, today: date) -> Board:
    """Return the secretary's six-one board: coverage, then each typed action's records."""
    coverage = village_coverage(village, today)
    actions = list(db.session.scalars(scoped(Action, user).where(Action.author_id == user.id)
                                      .order_by(Action.occurred_at.desc(), Action.id)))
    rows = {code: BoardRow(code) for code in ACTION_TYPES}
    for action in actions:
        rows[action.action_type].actions.append(action)
    return Board(coverage.village_progress, coverage.since, list(rows.values()),
                 photo_counts("action", [a.id for a in actions]))


@dataclass
class Evidence:
    record_type: str
    id: str
    title: str
    kind_label: str
    occurred_at: object
    state: str | None = None


@dataclass
class GoalRow:
    code: str
    goals: list[Goal] = field(default_factory=list)
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return goal_label(self.code)


def evidence_for(goal_ids: list[str]) -> dict[str, list[Evidence]]:
    """Return the records linked to each goal (meetings and actions), newest first."""
    result: dict[str, list[Evidence]] = {gid: [] for gid in goal_ids}
    if not goal_ids:
        return result
    meetings = db.session.execute(
        select(GoalLink.goal_id, Meeting).join(Meeting, and_(
            GoalLink.record_type == "meeting", GoalLink.record_id == Meeting.id))
        .where(GoalLink.goal_id.in_(goal_ids))).all()
    for goal_id, m in meetings:
        result[str(goal_id)].append(Evidence("meeting", m.id, record_title(
            "meeting", m.title, m.meeting_type, m.occurred_at), meeting_label(m.meeting_type),
            m.occurred_at))
    actions = db.session.execute(
        select(GoalLink.goal_id, Action).join(Action, and_(
            GoalLink.record_type == "action", GoalLink.record_id == Action.id))
        .where(GoalLink.goal_id.in_(goal_ids))).all()
    for goal_id, a in actions:
        result[str(goal_id)].append(Evidence("action", a.id, record_title(
            "action", a.title, a.action_type, a.occurred_at), action_label(
            a.action_type), a.occurred_at, a.state))
    for rows in result.values():
        rows.sort(key=lambda e: e.occurred_at, reverse=True)
    return result


def goals_with_evidence(user: User) -> list[GoalRow]:
    """Return the secretary's goals grouped by the five types, each with its evidence."""
    goals = list(db.session.scalars(scoped(Goal, user).where(Goal.author_id == user.id)
                                    .order_by(Goal.occurred_at, Goal.id)))
    rows = {code: GoalRow(code) for code in GOAL_TYPES}
    evidence = evidence_for([g.id for g in goals])
    for goal in goals:
        rows[goal.goal_type].goals.append(goal)
        rows[goal.goal_type].evidence[goal.id] = evidence[goal.id]
    return list(rows.values())


def goal_choices(user: User) -> list[dict]:
    """Return the secretary's goals for a record form's "evidence for" picker."""
    goals = db.session.scalars(scoped(Goal, user).where(Goal.author_id == user.id)
                               .order_by(Goal.goal_type, Goal.title))
    return [{"id": g.id, "title": g.title, "type": g.goal_type, "type_label": goal_label(
        g.goal_type)} for g in goals]


@dataclass
class ActionDetail:
    action: Action
    photos: list[Photo]
    before: list[Photo]
    after: list[Photo]
    place: Place
    goals: list[Goal]
    overdue: bool


def action_detail(user: User, action_id: str, today: date) -> ActionDetail:
    """Return one action in scope with its photos (before/after apart), place and goals."""
    action = db.session.scalar(scoped(Action, user).where(Action.id == action_id))
    if action is None:
        raise NotFound("No such action in your scope.")
    photos = photos_of("action", action.id)
    return ActionDetail(action, [p for p in photos if p.slot not in ("before", "after")],
                        [p for p in photos if p.slot == "before"],
                        [p for p in photos if p.slot == "after"],
                        place_of(action), linked_goals("action", action.id),
                        pledge_overdue(action, today))


@dataclass
class GoalDetail:
    goal: Goal
    photos: list[Photo]
    place: Place
    evidence: list[Evidence]


def goal_detail(user: User, goal_id: str) -> GoalDetail:
    """Return one goal in scope with its evidence records."""
    goal = db.session.scalar(scoped(Goal, user).where(Goal.id == goal_id))
    if goal is None:
        raise NotFound("No such goal in your scope.")
    return GoalDetail(goal, photos_of("goal", goal.id), place_of(goal),
                      evidence_for([goal.id])[goal.id])


def action_status(user_ids: list[int], today: date | None = None) -> dict[int, dict[str, dict]]:
    """Summarise each author's six-one actions per type in two grouped queries.

    Returns {user_id: {action_type: {"state": furthest state or None, "count": n,
    "done": n, "overdue": pledges past their date and not done}}}.
    """
    result = {uid: {code: {"state": None, "count": 0, "done": 0, "overdue": 0}
                    for code in ACTION_TYPES} for uid in user_ids}
    if not user_ids:
        return result
    rows = db.session.execute(
        select(Action.author_id, Action.action_type, Action.state, func.count())
        .where(Action.author_id.in_(user_ids))
        .group_by(Action.author_id, Action.action_type, Action.state))
    states: dict[tuple[int, str], list[str]] = {}
    for author_id, action_type, state, count in rows:
        entry = result[author_id][action_type]
        entry["count"] += count
        entry["done"] += count if state == "done" else 0
        states.setdefault((author_id, action_type), []).append(state)
    for (author_id, action_type), found in states.items():
        result[author_id][action_type]["state"] = _best_state(found)
    if today is not None:
        overdue = db.session.execute(
            select(Action.author_id, func.count()).where(
                Action.author_id.in_(user_ids), Action.action_type == "pledge",
                Action.state != "done", Action.due_date < today)
            .group_by(Action.author_id))
        for author_id, count in overdue:
            result[author_id]["pledge"]["overdue"] = count
    return result


# -- editing -------------------------------------------------------------------------------


@dataclass
class EditContext:
    record_type: str
    record: object
    data: dict  # the latest version's content as the phone sent it
    decision: ReviewDecision | None  # the latest review decision, if any

    @property
    def locked(self) -> bool:
        return self.record.status == "approved"


def edit_context(user: User, record_type: str, record_id: str) -> EditContext:
    """Return what the author needs to edit a record; NotFound for anyone but its author."""
    model = RECORD_MODELS.get(record_type)
    record = db.session.scalar(scoped(model, user).where(
        model.id == record_id, model.author_id == user.id)) if model else None
    if record is None:
        raise NotFound("No such record of yours.")
    raw = db.session.scalar(
        select(RecordVersion.data).where(RecordVersion.record_type == record_type,
                                         RecordVersion.record_id == record.id)
        .order_by(RecordVersion.version.desc()).limit(1))
    decision = db.session.scalar(
        select(ReviewDecision).where(ReviewDecision.record_type == record_type,
                                     ReviewDecision.record_id == record.id)
        .order_by(ReviewDecision.decided_at.desc(), ReviewDecision.id.desc()).limit(1))
    return EditContext(record_type, record, json.loads(raw) if raw else {}, decision)
