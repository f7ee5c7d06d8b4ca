"""What every office export is made of: sheets of plain values, the period, the scope, the title.

The files offices already keep (驻村工作台账, 民情台账, 记实登记表, the attendance sheet and the
score sheet) are built in `office_ledgers` and `office_cadres` from the parts here and written by
`office_writing`. Each export is scoped to the user, audited before the first byte goes out
(`title_lines`), titled with the county and period, and marked with who exported it and when.

A CSV body is read after the view has returned, when the request's database session is gone:
what a row needs is either a query the stream runs itself or plain values loaded before the
audit entry is written, never an ORM object (its lazy loads would fail mid-stream, after the
audit). The tables use the domain's labels in Chinese, the words the phone shows; the title
lines follow the user's language.
"""
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask_babel import force_locale, get_locale, get_timezone
from flask_babel import gettext as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Select, select

from fieldlog import domain
from fieldlog.errors import Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.permissions import scope_village_ids, unit_in_scope
from fieldlog.services.common.cells import cell, marking
from fieldlog.services.org.settings import county_id_of
from fieldlog.services.people.audit import record
from fieldlog.services.reporting.period import Period
from fieldlog.timefmt import local_midnight_utc

CHUNK = 1000


@dataclass(frozen=True)
class Labels:
    """The domain's labels as plain Chinese text: one vocabulary for phone, pages and files."""

    status: dict
    meeting: dict
    action: dict
    action_state: dict
    category: dict
    handler: dict
    ledger_state: dict
    day_kind: dict
    day_reason: dict
    day_state: dict


def zh_labels() -> Labels:
    """Render the domain's vocabularies in Chinese (the office forms' language)."""
    with force_locale("zh_Hans_CN"):
        def plain_labels(labels: dict) -> dict:
            return {code: str(label) for code, label in labels.items()}

        return Labels(*(plain_labels(labels) for labels in (
            domain.RECORD_STATUS_LABELS, domain.MEETING_TYPE_LABELS, domain.ACTION_TYPE_LABELS,
            domain.ACTION_STATE_LABELS, domain.LEDGER_CATEGORY_LABELS,
            domain.LEDGER_HANDLER_LABELS, domain.LEDGER_STATE_LABELS, domain.DAY_KIND_LABELS,
            domain.DAY_REASON_LABELS, domain.DAY_STATE_LABELS)))


def text(value) -> str:
    """A text cell safe for spreadsheets: no formula, no control characters XML refuses."""
    return ILLEGAL_CHARACTERS_RE.sub("", cell(value))


def local_dt(value: datetime | None) -> datetime | None:
    """A stored UTC time as the county's wall-clock time (naive: a spreadsheet has no zones)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(get_timezone()).replace(tzinfo=None)


def local_time(value: datetime | None) -> str:
    return plain(local_dt(value))


def plain(value) -> str | int | float:
    """A cell as CSV text: times "2026-11-03 09:30", dates "2026-11-03", nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass
class Sheet:
    """One table of an export: a name, a header, and rows produced lazily."""

    name: str
    header: list[str]
    rows: Callable[[], Iterable[list]]


@dataclass
class OfficeExport:
    """An export ready to write: its title lines, sheets and how its CSV combines them."""

    kind: str
    title: str
    filename: str
    lines: list[str]  # title, marking, who exported when
    sheets: list[Sheet]
    common: int = 0  # >0: the CSV is one table with a type column (first `common` columns)
    trailer: list[list] = field(default_factory=list)  # rows after the table (a legend)


# --- Scope and period ----------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A period as local dates: a month "2026-11", a quarter "2026-Q4" or a year "2026"."""

    key: str
    start: date
    end: date  # inclusive

    @property
    def utc_range(self) -> tuple[datetime, datetime]:
        return local_midnight_utc(self.start), local_midnight_utc(self.end + timedelta(days=1))

    @property
    def label(self) -> str:
        year, _, rest = self.key.partition("-")
        if not rest:
            return f"{year}年"
        if rest.startswith("Q"):
            return f"{year}年第{rest[1]}季度"
        return f"{year}年{int(rest)}月"


def parse_span(key: str | None, *, months_only: bool = False) -> Span:
    """Parse a period key (empty: this month); Invalid with a clear message otherwise."""
    period = Period.parse(key)
    if period.kind == "term" or (months_only and period.kind != "month"):
        message = (_("Choose a month such as 2026-11.") if months_only else
                   _("Choose a period: a month (2026-11), a quarter (2026-Q4) or a year (2026)."))
        raise Invalid(message, fields={"period": [message]})
    return Span(period.key, period.start, period.end)


def scoped_villages(user: User, village_id: int | None) -> tuple[Select, OrgUnit | None]:
    """Return (a select of the village ids to export, the one village asked for or None)."""
    if village_id is None:
        return scope_village_ids(user), None
    village = db.session.get(OrgUnit, village_id)
    if village is None or village.kind != "village" or not unit_in_scope(user, village):
        raise NotFound(_("No such village in your scope."))
    return select(OrgUnit.id).where(OrgUnit.id == village.id), village


def span_label(span: Span) -> str:
    """The period as the title says it: 2026年11月 in Chinese, 2026-11 otherwise."""
    return span.label if get_locale().language == "zh" else span.key.replace("-Q", " Q")


def title_lines(user: User, title: str, span: Span, village: OrgUnit | None,
                action: str, details: dict) -> list[str]:
    """Audit the export and return its title lines, in the user's language.

    Called last by each builder, once everything its rows need is loaded: the entry is
    committed before any byte is sent, and nothing after it depends on this session.
    """
    scope = user.scope_unit  # a city administrator's exports cover the city
    county = scope if scope.kind == "city" else db.session.get(OrgUnit, county_id_of(scope))
    place = county.name + (f" · {village.name}" if village else "")
    name, username = user.display_name, user.username
    entry = record(action, actor=user, object_type="export", object_id=details.get("kind", ""),
                   details=details)
    db.session.commit()
    return [_("%(place)s · %(title)s (%(period)s)", place=place, title=title,
              period=span_label(span)), marking(),
            _("Exported by %(name)s (%(username)s) at %(time)s; audit entry %(id)s",
              name=name, username=username, time=local_time(entry.at), id=entry.id)]
