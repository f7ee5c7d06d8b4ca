"""Importing a cadre list: a preview against what is stored, then all of it or nothing.

Each row becomes a `secretary` account (first secretary or team member) with a one-time
password and a term in its village. Usernames are `<village code>-<n>` (e.g. 520121101201-1):
readable, unique, and free of the person's phone number. The passwords are returned once
to be printed for distribution; only their hashes are stored.
"""
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.services.people.audit import record
from fieldlog.services.people.cadre_sheet import CadreRow, RowError, Sheet, column_name, parse_sheet
from fieldlog.services.people.terms import TermInput, add_term, term_problems
from fieldlog.services.people.users import add_account, phone_problem


@dataclass
class Issued:
    """One imported cadre and their one-time password."""

    row: CadreRow
    user: User
    password: str


def _villages(admin: User) -> tuple[dict[str, OrgUnit], dict[str, list[OrgUnit]]]:
    """Return the admin's villages by code and by name."""
    by_code, by_name = {}, {}
    for village in db.session.scalars(select(OrgUnit).where(
            OrgUnit.kind == "village",
            OrgUnit.path.startswith(admin.scope_unit.path, autoescape=True))):
        by_code[village.code.lower()] = village
        by_name.setdefault(village.name, []).append(village)
    return by_code, by_name


def _village_of(text: str, by_code: dict, by_name: dict) -> tuple[OrgUnit | None, str | None]:
    village = by_code.get(text.lower())
    named = [village] if village else by_name.get(text, [])
    in_use = [v for v in named if not v.retired]
    if named and not in_use:
        return None, _("%(name)s (%(code)s) is retired: cadres can no longer be assigned "
                       "there.", name=named[0].name, code=named[0].code)
    named = in_use
    if len(named) == 1:
        return named[0], None
    if named:
        return None, _("Several villages in your area are named %(name)s (%(codes)s): write "
                       "the 村代码 instead.", name=text,
                       codes=", ".join(v.code for v in named))
    return None, _("There is no village %(name)s in your area (write its name or 村代码 as "
                   "in the org tree).", name=text)


def _username_base(village: OrgUnit) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "", village.code) or f"v{village.id}"


class _Usernames:
    """Hand out `<code>-<n>`: the next numbers not yet taken, in the database or this file."""

    def __init__(self):
        self.taken: dict[str, set[str]] = {}

    def next(self, village: OrgUnit) -> str:
        base = _username_base(village)
        if base not in self.taken:
            self.taken[base] = {name.lower() for name in db.session.scalars(
                select(User.username).where(User.username.startswith(f"{base}-",
                                                                     autoescape=True)))}
        n = 1
        while f"{base}-{n}".lower() in self.taken[base]:
            n += 1
        name = f"{base}-{n}"
        self.taken[base].add(name.lower())
        return name


def _same_days(a: CadreRow, b: CadreRow) -> bool:
    return a.start <= (b.end or b.start.max) and b.start <= (a.end or a.start.max)


def preview_cadres(admin: User, data: bytes) -> Sheet:
    """Parse a cadre list and check it against the villages, phones and terms on file."""
    sheet = parse_sheet(data)
    by_code, by_name = _villages(admin)
    names, kept = _Usernames(), []
    for row in sheet.rows:
        village, problem = _village_of(row.village_text, by_code, by_name)
        if problem:
            sheet.errors.append(RowError(row.row, column_name("village"), problem))
            continue
        row.village_id, row.village_name = village.id, village.name
        problems = []
        if message := phone_problem(admin, row.phone):
            problems.append(RowError(row.row, column_name("phone"), message))
        term = TermInput(village, row.start, row.end, row.dispatching_unit, row.post)
        if message := term_problems(None, term).get("post"):
            problems.append(RowError(row.row, column_name("post"), message))
        elif row.post == "first_secretary":
            for other in kept:
                if (other.post == "first_secretary" and other.village_id == village.id
                        and _same_days(row, other)):
                    problems.append(RowError(row.row, column_name("post"), _(
                        "%(village)s gets a second first secretary for the same time (first "
                        "in row %(first)s); one of them is a team member.",
                        village=village.name, first=other.row)))
                    break
        if problems:
            sheet.errors.extend(problems)
            continue
        row.username = names.next(village)
        kept.append(row)
    sheet.rows = kept
    sheet.errors.sort(key=lambda e: e.row)
    return sheet


def import_cadres(admin: User, data: bytes, filename: str = "") -> list[Issued]:
    """Import a whole cadre list or nothing: Invalid lists every row error; commit.

    Returns each new cadre with their one-time password, to be shown once.
    """
    sheet = preview_cadres(admin, data)
    if sheet.errors:
        raise Invalid(ngettext("The file has %(num)s error; nothing was imported.",
                               "The file has %(num)s errors; nothing was imported.",
                               len(sheet.errors)), code="cadre_errors",
                      fields={"rows": [str(e) for e in sheet.errors]})
    issued = []
    try:
        for row in sheet.rows:
            village = db.session.get(OrgUnit, row.village_id)
            created = add_account(admin, row.username, {
                "display_name": row.name, "phone": row.phone, "role": "secretary",
                "scope_unit_id": village.id, "locale": ""}, via="import")
            add_term(admin, created.user, TermInput(
                village, row.start, row.end, row.dispatching_unit, row.post), via="import")
            issued.append(Issued(row, created.user, created.password))
        record("cadres.import", actor=admin, object_type="org_unit",
               object_id=admin.scope_unit_id,
               details={"created": len(issued), "filename": filename[:100]})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return issued
