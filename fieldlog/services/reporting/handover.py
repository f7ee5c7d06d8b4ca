"""The handover list (交接清单): what an outgoing cadre's successor inherits in the village.

For one term (an `Assignment`) it lists, as of the term's end (today while it runs): the
village's ledger items still open then, pledges and practical deeds not done by then, five-one
goals not achieved, and the term's summary taken from `figures.cadre_figures` (one definition
per figure, docs/figures.md). The ledger belongs to the village, so every open item is listed
whoever raised it; so are pledges and goals recorded in the village before the end (a chain of
handovers carries what is still undone). What changed since the end is shown beside, never
instead: the printed list stays the one that was signed.

Who may read it: a supervisor or an admin whose scope holds the village, the outgoing cadre and
an incoming one (a later term in the same village). Everyone else is told it does not exist.
This module only reads, except the audit entry of a print (`audit_print`).
"""
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from sqlalchemy import and_, or_, select

from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import Action, Assignment, Goal, LedgerEvent, LedgerItem, OrgUnit, User
from fieldlog.permissions import unit_in_scope
from fieldlog.services.people.audit import record as audit
from fieldlog.services.reporting.figure_queries import LEDGER_CLOSED
from fieldlog.services.reporting.figures import CadreFigures, cadre_figures
from fieldlog.services.reporting.period import Period, utc_bounds
from fieldlog.timefmt import local_today

OPEN_STATES = ("open", "in_progress")
# Six-one actions that are promises to the village and pass to the successor when not done.
INHERITED_ACTIONS = ("pledge", "practical_deed")
MANAGERS = ("supervisor", "admin")  # who reads any handover in their scope
SOON_DAYS = 30  # a term ending within this many days shows its handover on the phone
NEW_TERM_DAYS = 90  # an incoming cadre sees the handover they received this long


def _local(value: datetime | None) -> date | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(str(get_timezone()))).date()


@dataclass
class OpenItem:
    """A ledger item open at the handover: who waits, for what, since when."""

    id: str
    category: str
    content: str
    waiting: str  # the household's head, or the person who raised it
    house_label: str
    raised_on: date
    raised_by: str
    last_change: date
    handler: str
    handler_note: str
    due_date: date | None
    state: str  # as of the handover
    overdue: bool
    state_now: str
    closed_on: date | None = None  # closed since the handover


@dataclass
class OpenAction:
    """A pledge or practical deed not done by the handover."""

    id: str
    action_type: str
    title: str
    description: str
    state: str  # as of the handover
    due_date: date | None
    overdue: bool
    recorded_on: date
    author_id: int
    author: str
    done_on: date | None = None  # done since the handover


@dataclass
class OpenGoal:
    """A five-one goal not achieved by the handover."""

    id: str
    goal_type: str
    title: str
    target: str
    progress: str
    state: str
    author_id: int
    author: str
    achieved_since: bool = False


@dataclass
class Handover:
    """Everything the handover page and its printed form show."""

    term: Assignment
    outgoing: User
    village: OrgUnit
    places: dict[str, str]
    as_of: date  # the term's last day, or today while it runs
    ended: bool
    successor: Assignment | None
    figures: CadreFigures
    items: list[OpenItem] = field(default_factory=list)
    actions: list[OpenAction] = field(default_factory=list)
    goals: list[OpenGoal] = field(default_factory=list)

    @property
    def overdue_count(self) -> int:
        return sum(i.overdue for i in self.items) + sum(a.overdue for a in self.actions)

    @property
    def actions_done(self) -> int:
        """Typed six-one actions recorded in the term and done (figures' count)."""
        return sum(states.get("done", 0) for states in self.figures.actions.values())


# --- who may read it ---------------------------------------------------------------------------

def successor_of(term: Assignment) -> Assignment | None:
    """Return the next term of another cadre in the same village, if one is assigned."""
    return db.session.scalar(select(Assignment).where(
        Assignment.village_id == term.village_id, Assignment.user_id != term.user_id,
        Assignment.start_date > term.start_date)
        .order_by(Assignment.start_date, Assignment.id).limit(1))


def may_read(viewer: User, term: Assignment) -> bool:
    """Return whether `viewer` may read the handover of `term` (pure but for one lookup)."""
    if not viewer.is_active:
        return False
    if viewer.role in MANAGERS:
        return unit_in_scope(viewer, term.village)
    if viewer.role != "secretary":
        return False
    if viewer.id == term.user_id:
        return True
    return db.session.scalar(select(Assignment.id).where(
        Assignment.user_id == viewer.id, Assignment.village_id == term.village_id,
        Assignment.start_date > term.start_date).limit(1)) is not None


def readable_term(viewer: User, assignment_id: int) -> Assignment:
    """Return the term if the viewer may read its handover; NotFound otherwise."""
    term = db.session.get(Assignment, assignment_id)
    if term is None or not may_read(viewer, term):
        raise NotFound("No such term in your scope.")
    return term


# --- what is handed over -----------------------------------------------------------------------

def handover(term: Assignment, today: date | None = None) -> Handover:
    """Return the handover list of `term`, as of its end (today while it runs)."""
    today = today or local_today()
    ended = term.end_date is not None and term.end_date < today
    as_of = term.end_date if ended else today
    as_of = max(as_of, term.start_date)
    span = Period("handover", f"term-{term.id}", term.start_date, as_of)
    figures = cadre_figures([term.user_id], span, today=today,
                            village_of={term.user_id: term.village_id})[term.user_id]
    _lo, hi = utc_bounds(term.start_date, as_of)
    return Handover(term, term.user, term.village, _places(term.village), as_of, ended,
                    successor_of(term), figures, open_items(term.village_id, hi, as_of),
                    open_actions(term.village_id, hi, as_of), open_goals(term.village_id, hi))


def _places(village: OrgUnit) -> dict[str, str]:
    ids = [int(p) for p in village.path.strip("/").split("/") if p]
    return {u.kind: u.name for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {uid: name for uid, name in rows}


def open_items(village_id: int, hi: datetime, as_of: date) -> list[OpenItem]:
    """Return the village's items raised before `hi` and open then, overdue first.

    An item's state at `hi` is the last state an event dated before it set; with no such
    event, the state it was raised in (the first event's from-state, else its state now).
    """
    changed_later = select(LedgerEvent.item_id).where(
        LedgerEvent.occurred_at >= hi, LedgerEvent.to_state.is_not(None))
    items = list(db.session.scalars(select(LedgerItem).where(
        LedgerItem.village_id == village_id, LedgerItem.occurred_at < hi,
        or_(LedgerItem.state.in_(OPEN_STATES), LedgerItem.id.in_(changed_later)))))
    events: dict[str, list[LedgerEvent]] = {i.id: [] for i in items}
    if items:
        for event in db.session.scalars(select(LedgerEvent).where(
                LedgerEvent.item_id.in_(list(events)))
                .order_by(LedgerEvent.occurred_at, LedgerEvent.received_at, LedgerEvent.id)):
            events[event.item_id].append(event)
    names = _names({i.author_id for i in items})
    found = []
    for item in items:
        before = [e for e in events[item.id] if e.occurred_at < hi]
        moves = [e for e in events[item.id] if e.to_state]
        state = next((e.to_state for e in reversed(before) if e.to_state), None) \
            or (moves[0].from_state if moves and moves[0].from_state else item.state)
        if state not in OPEN_STATES:
            continue
        household = item.household
        closing = [e for e in moves if e.to_state in LEDGER_CLOSED]
        closed = item.state in LEDGER_CLOSED
        found.append(OpenItem(
            item.id, item.category, item.content,
            household.head_name if household else item.raiser_name,
            household.house_label if household else "", _local(item.occurred_at),
            names.get(item.author_id, ""),
            _local(before[-1].occurred_at) if before else _local(item.occurred_at),
            item.handler, item.handler_note, item.due_date, state,
            bool(item.due_date and item.due_date < as_of), item.state,
            _local(closing[-1].occurred_at) if closed and closing else None))
    return sorted(found, key=lambda i: (not i.overdue, i.due_date or date.max, i.raised_on))


def open_actions(village_id: int, hi: datetime, as_of: date) -> list[OpenAction]:
    """Return pledges and practical deeds recorded before `hi` and not done by `as_of`."""
    actions = list(db.session.scalars(select(Action).where(
        Action.village_id == village_id, Action.action_type.in_(INHERITED_ACTIONS),
        Action.occurred_at < hi,
        or_(Action.state != "done", and_(Action.done_on.is_not(None), Action.done_on > as_of)))
        .order_by(Action.due_date.is_(None), Action.due_date, Action.occurred_at)))
    names = _names({a.author_id for a in actions})
    found = []
    for action in actions:
        done_later = action.state == "done"
        state = "under_way" if done_later else action.state
        found.append(OpenAction(
            action.id, action.action_type, action.title, action.description, state,
            action.due_date, bool(action.due_date and action.due_date < as_of),
            _local(action.occurred_at), action.author_id, names.get(action.author_id, ""),
            action.done_on if done_later else None))
    return found


def open_goals(village_id: int, hi: datetime) -> list[OpenGoal]:
    """Return five-one goals recorded before `hi` and not achieved then.

    A goal has no date of achievement; one marked achieved by a version the server received
    after `hi` counts as achieved since.
    """
    goals = list(db.session.scalars(select(Goal).where(
        Goal.village_id == village_id, Goal.occurred_at < hi,
        or_(Goal.state != "done", Goal.updated_at >= hi))
        .order_by(Goal.goal_type, Goal.occurred_at)))
    names = _names({g.author_id for g in goals})
    return [OpenGoal(g.id, g.goal_type, g.title, g.target, g.progress,
                     "under_way" if g.state == "done" else g.state,
                     g.author_id, names.get(g.author_id, ""), g.state == "done")
            for g in goals]


# --- where the handover is offered -------------------------------------------------------------

def phone_handovers(user: User, today: date | None = None) -> list[tuple[str, Assignment]]:
    """Return the handovers a secretary's phone offers: ("outgoing", own term) when it ends
    within 30 days or has a successor; ("incoming", predecessor's term) early in a new term."""
    today = today or local_today()
    terms = list(db.session.scalars(select(Assignment).where(Assignment.user_id == user.id)
                                    .order_by(Assignment.start_date.desc())))
    found: list[tuple[str, Assignment]] = []
    for term in terms:
        ends_soon = term.end_date is not None and term.end_date <= today + timedelta(SOON_DAYS) \
            and term.end_date >= today - timedelta(NEW_TERM_DAYS)
        if ends_soon or (term.start_date <= today and successor_of(term) is not None
                         and (term.end_date is None or term.end_date >= today)):
            found.append(("outgoing", term))
    current = next((t for t in terms if t.start_date <= today
                    and (t.end_date is None or t.end_date >= today)), None)
    if current is not None and current.start_date >= today - timedelta(NEW_TERM_DAYS):
        before = db.session.scalar(select(Assignment).where(
            Assignment.village_id == current.village_id, Assignment.user_id != user.id,
            Assignment.start_date < current.start_date)
            .order_by(Assignment.start_date.desc(), Assignment.id.desc()).limit(1))
        if before is not None:
            found.append(("incoming", before))
    return found


def latest_term(user_id: int) -> Assignment | None:
    """Return a cadre's latest term (for the link on their progress page)."""
    return db.session.scalar(select(Assignment).where(Assignment.user_id == user_id)
                             .order_by(Assignment.start_date.desc(), Assignment.id.desc())
                             .limit(1))


def terms_to_hand_over(user_ids: list[int], today: date | None = None) -> dict[int, int]:
    """Return cadre → term id for the cadres whose latest term ends within 30 days or has a
    successor (the progress table links their handover); two queries for any number."""
    today = today or local_today()
    latest: dict[int, Assignment] = {}
    for term in db.session.scalars(select(Assignment).where(Assignment.user_id.in_(user_ids))
                                   .order_by(Assignment.start_date, Assignment.id)):
        latest[term.user_id] = term
    later: dict[int, list[tuple[date, int]]] = {}
    for village_id, start, uid in db.session.execute(
            select(Assignment.village_id, Assignment.start_date, Assignment.user_id)
            .where(Assignment.village_id.in_({t.village_id for t in latest.values()}))):
        later.setdefault(village_id, []).append((start, uid))
    found: dict[int, int] = {}
    for uid, term in latest.items():
        soon = term.end_date is not None and term.end_date <= today + timedelta(SOON_DAYS)
        succeeded = any(start > term.start_date and other != uid
                        for start, other in later.get(term.village_id, ()))
        if soon or succeeded:
            found[uid] = term.id
    return found


def audit_print(viewer: User, term: Assignment) -> int:
    """Record that the viewer printed a handover (it names villagers); return the entry's id."""
    entry = audit("handover.print", actor=viewer, object_type="assignment", object_id=term.id,
                  details={"village_id": term.village_id, "cadre_id": term.user_id})
    db.session.commit()
    return entry.id
