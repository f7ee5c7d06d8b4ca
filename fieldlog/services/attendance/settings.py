"""The county's attendance settings as the admin's form edits them: the leave chain read from the
form's rows, and the county an admin's settings apply to.
"""

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.services.attendance.leave import LEVELS
from fieldlog.services.org.settings import county_id_of


def parse_chain(rows: list[tuple[str, str]]) -> list[dict]:
    """Validate (level, from_days) rows from a form into a leave chain; raise Invalid."""
    chain, last = [], 0
    for level, from_days in rows:
        level, from_days = (level or "").strip(), (from_days or "").strip()
        if not level and not from_days:
            continue
        if level not in LEVELS:
            raise Invalid("Each step's level must be township or county.",
                          fields={"chain": ["Unknown level."]})
        if not from_days.isdigit() or int(from_days) < 1:
            raise Invalid("Each step applies from a whole number of days, at least 1.",
                          fields={"chain": ["Bad number of days."]})
        if int(from_days) <= last:
            raise Invalid("Each step must start from more days than the step before it.",
                          fields={"chain": ["Not increasing."]})
        last = int(from_days)
        chain.append({"level": level, "from_days": last})
    if not chain:
        raise Invalid("The chain needs at least one step.", fields={"chain": ["Empty."]})
    return chain


def county_of(user: User) -> OrgUnit:
    """Return the county a user belongs to."""
    return db.session.get(OrgUnit, county_id_of(user.scope_unit))
