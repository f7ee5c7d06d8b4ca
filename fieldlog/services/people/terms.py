"""Terms (任期): a cadre's assignment to a village, as first secretary or team member.

A cadre's `scope_unit` is the village of their running term: that is what the sync engine,
the register and the reports take as "the village of a secretary", so first secretaries and
team members record alike. Terms of one person never overlap; a village has at most one
first secretary on any day, and any number of team members. Ending a term and moving a cadre
add and close rows; nothing is deleted, and records keep the village they were made in.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import Assignment, OrgUnit, User
from fieldlog.models.people import POSTS
from fieldlog.permissions import unit_in_scope
from fieldlog.services.people.audit import record
from fieldlog.timefmt import local_today

FAR_FUTURE = date(9999, 12, 31)


@dataclass
class TermInput:
    """A checked term: where, when, from which unit, which post."""

    village: OrgUnit
    start: date
    end: date | None
    dispatching_unit: str
    post: str


def post_label(post: str) -> str:
    """Return the post's name in the reader's language."""
    return {"first_secretary": _("First secretary"), "team_member": _("Team member")}.get(
        post, post)


def parse_date(value) -> date | None:
    """Read a date typed or stored as 2026-03-01, 2026/3/1, 2026.3.1 or 2026年3月1日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip().replace("年", "-").replace("月", "-").rstrip("日")
    for sep in ("/", "."):
        text = text.replace(sep, "-")
    try:
        year, month, day = (int(part) for part in text.split("-"))
        return date(year, month, day)
    except ValueError:
        return None


def _overlaps(start: date, end: date | None):
    """The condition "an assignment's days meet [start, end]"."""
    return (Assignment.start_date <= (end or FAR_FUTURE)) & or_(
        Assignment.end_date.is_(None), Assignment.end_date >= start)


def _span(start: date, end: date | None) -> str:
    return f"{start.isoformat()} – {end.isoformat() if end else _('open')}"


def term_problems(user_id: int | None, term: TermInput, *, ignore: tuple[int, ...] = ()
                  ) -> dict[str, str]:
    """Return the clashes of a term with stored ones: the same person, a second first secretary."""
    problems = {}
    if user_id is not None:
        clash = db.session.scalars(select(Assignment).where(
            Assignment.user_id == user_id, _overlaps(term.start, term.end),
            Assignment.id.not_in(ignore or (0,))).limit(1)).first()
        if clash is not None:
            problems["start"] = _(
                "%(name)s already has a term in %(village)s (%(span)s); terms of one person "
                "cannot overlap.", name=clash.user.display_name, village=clash.village.name,
                span=_span(clash.start_date, clash.end_date))
    if term.post == "first_secretary":
        other = db.session.scalars(select(Assignment).where(
            Assignment.village_id == term.village.id, Assignment.post == "first_secretary",
            _overlaps(term.start, term.end), Assignment.id.not_in(ignore or (0,)),
            Assignment.user_id != (user_id or 0)).limit(1)).first()
        if other is not None:
            problems["post"] = _(
                "%(village)s already has a first secretary in that time: %(name)s (%(span)s). "
                "Add this cadre as a team member, or end that term first.",
                village=term.village.name, name=other.user.display_name,
                span=_span(other.start_date, other.end_date))
    return problems


def read_term(admin: User, form, *, village_field: str = "village_id") -> TermInput:
    """Check a term form inside the admin's scope; Invalid with errors by field."""
    errors: dict[str, list[str]] = {}
    village_id = form.get(village_field) or ""
    village = db.session.get(OrgUnit, int(village_id)) if str(village_id).isdigit() else None
    if village is None or village.kind != "village" or not unit_in_scope(admin, village):
        errors[village_field] = [_("Choose a village inside your area.")]
    elif village.retired:
        errors[village_field] = [_("%(name)s is retired: choose a unit in use.",
                                   name=village.name)]
    start = parse_date(form.get("start"))
    end = parse_date(form.get("end")) if (form.get("end") or "").strip() else None
    if start is None:
        errors["start"] = [_("Enter the first day of the term.")]
    if (form.get("end") or "").strip() and end is None:
        errors["end"] = [_("Enter the last day as a date, e.g. 2027-12-31.")]
    elif start and end and end < start:
        errors["end"] = [_("The term cannot end before it starts.")]
    unit = (form.get("dispatching_unit") or "").strip()[:120]
    if not unit:
        errors["dispatching_unit"] = [_("Enter the dispatching unit (选派单位).")]
    post = form.get("post") or ""
    if post not in POSTS:
        errors["post"] = [_("Choose first secretary or team member.")]
    if errors:
        raise Invalid(_("The term was not saved: correct the fields marked below."),
                      fields=errors)
    return TermInput(village, start, end, unit, post)


def terms_of(user: User) -> list[Assignment]:
    """Return the user's terms, latest first."""
    return list(db.session.scalars(select(Assignment).where(Assignment.user_id == user.id)
                                   .order_by(Assignment.start_date.desc())))


def current_term(user: User, today: date | None = None) -> Assignment | None:
    """Return the user's term running today, if any."""
    today = today or local_today()
    return db.session.scalars(select(Assignment).where(
        Assignment.user_id == user.id, _overlaps(today, today))).first()


def village_teams(admin: User, today: date | None = None) -> list[tuple[OrgUnit, list]]:
    """Return each village in the admin's scope with its terms running today (first secretary
    first)."""
    today = today or local_today()
    villages = list(db.session.scalars(select(OrgUnit).where(
        OrgUnit.kind == "village",
        OrgUnit.path.startswith(admin.scope_unit.path, autoescape=True)).order_by(OrgUnit.path)))
    running: dict[int, list[Assignment]] = {}
    for term in db.session.scalars(select(Assignment).where(
            Assignment.village_id.in_([v.id for v in villages] or [0]),
            _overlaps(today, today)).order_by(Assignment.post, Assignment.start_date)):
        running.setdefault(term.village_id, []).append(term)
    return [(v, running.get(v.id, [])) for v in villages]


def _fail(problems: dict[str, str]) -> Invalid:
    return Invalid(next(iter(problems.values())),
                   fields={key: [message] for key, message in problems.items()})


def add_term(admin: User, user: User, term: TermInput, *, via: str = "form") -> Assignment:
    """Add a checked term and let the cadre's village follow it; audited, not committed."""
    if problems := term_problems(user.id, term):
        raise _fail(problems)
    row = Assignment(user_id=user.id, village_id=term.village.id, start_date=term.start,
                     end_date=term.end, dispatching_unit=term.dispatching_unit, post=term.post)
    db.session.add(row)
    db.session.flush()
    record("term.start", actor=admin, object_type="user", object_id=user.id,
           details={"username": user.username, "village_id": term.village.id,
                    "post": term.post, "from": term.start, "to": term.end, "via": via})
    _follow_terms(user)
    return row


def start_term(admin: User, user: User, form) -> Assignment:
    """Assign a cadre to a village for a term (from a form); commit."""
    if user.role != "secretary":
        raise Invalid(_("Only first secretaries and team members have terms in a village."))
    row = add_term(admin, user, read_term(admin, form))
    db.session.commit()
    return row


def end_term(admin: User, user: User, term_id, end) -> Assignment:
    """Set the last day of one of the user's terms; commit."""
    term = db.session.get(Assignment, int(term_id)) if str(term_id).isdigit() else None
    if term is None or term.user_id != user.id:
        raise Invalid(_("No such term."))
    last = parse_date(end)
    if last is None:
        raise Invalid(_("Enter the last day as a date, e.g. 2027-12-31."),
                      fields={"end": [_("Enter the last day as a date, e.g. 2027-12-31.")]})
    if last < term.start_date:
        raise Invalid(_("The term cannot end before it starts."),
                      fields={"end": [_("The term cannot end before it starts.")]})
    if problems := term_problems(user.id, TermInput(
            term.village, term.start_date, last, term.dispatching_unit, term.post),
            ignore=(term.id,)):
        raise _fail(problems)
    previous = term.end_date
    term.end_date = last
    record("term.end", actor=admin, object_type="user", object_id=user.id,
           details={"username": user.username, "village_id": term.village_id,
                    "previous": previous, "to": last})
    _follow_terms(user)
    db.session.commit()
    return term


def move_cadre(admin: User, user: User, form) -> Assignment:
    """End the running term the day before the new one starts and begin it elsewhere; commit.

    What the cadre recorded keeps its village; the old village's reports count them for
    the old term.
    """
    term = read_term(admin, form)
    running = current_term(user, term.start) or current_term(user)
    if running is None:
        raise Invalid(_("This cadre has no running term to move from; add a term instead."))
    if term.village.id == running.village_id:
        raise Invalid(_("Choose another village than the current one."),
                      fields={"village_id": [_("Choose another village than the current one.")]})
    last = term.start - timedelta(days=1)
    if last < running.start_date:
        raise Invalid(_("The new term must start after the current one began (%(day)s).",
                        day=running.start_date.isoformat()),
                      fields={"start": [_("The new term must start after the current one "
                                          "began (%(day)s).",
                                          day=running.start_date.isoformat())]})
    previous = running.end_date
    running.end_date = last
    db.session.flush()
    record("term.end", actor=admin, object_type="user", object_id=user.id,
           details={"username": user.username, "village_id": running.village_id,
                    "previous": previous, "to": last, "via": "move"})
    try:
        row = add_term(admin, user, term, via="move")
    except Invalid:
        db.session.rollback()
        raise
    db.session.commit()
    return row


def village_on_the_day(user: User) -> None:
    """Let a cadre's `scope_unit` follow the term running today (the county's day); commit
    only when it changes.

    `scope_unit` is what scope checks, the phone's home and sync read as the cadre's village.
    It is a cache of "the village of the term running on the day": a term change sets it at
    once (`_follow_terms`), but a move that starts on a later day only takes effect that day.
    So every request of a cadre, by session (the user loader) or by device token (the API),
    calls this first: one indexed query, and the day a new term starts its first request
    moves the cadre. Reports do not read it for past periods; they read the terms.
    """
    if user.role != "secretary" or not user.active:
        return
    before = user.scope_unit_id
    _follow_terms(user)
    if user.scope_unit_id != before:
        db.session.commit()


def _follow_terms(user: User) -> None:
    """Set a cadre's village to their running term's (else their next one's) village."""
    db.session.flush()
    today = local_today()
    term = current_term(user, today) or db.session.scalars(select(Assignment).where(
        Assignment.user_id == user.id, Assignment.start_date > today)
        .order_by(Assignment.start_date)).first()
    if term is not None and user.scope_unit_id != term.village_id:
        # Sessions and device tokens stay: pages read the village afresh on every request,
        # and a phone keeps sending what it holds.
        user.scope_unit_id = term.village_id
