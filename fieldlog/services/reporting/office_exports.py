"""The files offices already keep, exported from the records: XLSX and CSV, streamed flat.

驻村工作台账 (every record of a period), 民情台账 (the issue ledger), 记实登记表 (one cadre's
month), the attendance sheet and the score sheet. Each export is scoped to the user, audited
before the first byte goes out, titled with the county and period, and marked with who exported
it and when. Rows are read with `yield_per` (a server-side cursor on PostgreSQL) and written as
they come: CSV straight into the response, XLSX through a write-only workbook into a temporary
file that is then streamed and deleted, so memory stays flat whatever the size.

A CSV body is read after the view has returned, when the request's database session is gone:
what a row needs is either a query the stream runs itself or plain values loaded before the
audit entry is written, never an ORM object (its lazy loads would fail mid-stream, after the
audit). The tables use the domain's labels in Chinese, the words the phone shows; the title
lines follow the user's language.
"""
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask_babel import force_locale, get_locale, get_timezone
from flask_babel import gettext as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Select, func, or_, select

from fieldlog import domain
from fieldlog.errors import Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    DayMark,
    Household,
    LedgerEvent,
    LedgerItem,
    Meeting,
    OrgUnit,
    User,
    Visit,
)
from fieldlog.permissions import scope_village_ids, unit_in_scope
from fieldlog.services.common import xlsx_layout as spreadsheet
from fieldlog.services.org.settings import county_id_of
from fieldlog.services.people.audit import record
from fieldlog.services.reporting.figures import cadre_figures
from fieldlog.services.reporting.period import Period
from fieldlog.services.reporting.table import cadre_in_scope
from fieldlog.services.reporting.visit_exports import _cell, _csv_lines, marking
from fieldlog.timefmt import local_midnight_utc, local_today

CHUNK = 1000
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")


DAY_MARK = {"records": "√", "marked": "○", "official": "公", "leave": "假"}


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
    return ILLEGAL_CHARACTERS_RE.sub("", _cell(value))


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


def _lines(user: User, title: str, span: Span, village: OrgUnit | None,
           action: str, details: dict) -> list[str]:
    """Audit the export and return its title lines, in the user's language.

    Called last by each builder, once everything its rows need is loaded: the entry is
    committed before any byte is sent, and nothing after it depends on this session.
    """
    county = db.session.get(OrgUnit, county_id_of(user.scope_unit))
    place = county.name + (f" · {village.name}" if village else "")
    name, username = user.display_name, user.username
    entry = record(action, actor=user, object_type="export", object_id=details.get("kind", ""),
                   details=details)
    db.session.commit()
    return [_("%(place)s · %(title)s (%(period)s)", place=place, title=title,
              period=span_label(span)), marking(),
            _("Exported by %(name)s (%(username)s) at %(time)s; audit entry %(id)s",
              name=name, username=username, time=local_time(entry.at), id=entry.id)]


# --- Writing -----------------------------------------------------------------------------


def csv_chunks(export: OfficeExport) -> Iterator[str]:
    """Yield the export as CSV text: BOM, title lines, header, rows a chunk at a time."""
    yield "\ufeff" + _csv_lines([[line] for line in export.lines])
    if export.common:
        first = export.sheets[0].header
        yield _csv_lines([["类型", *first[:export.common], "内容"]])
    for sheet in export.sheets:
        if not export.common:
            yield _csv_lines([sheet.header])
        batch = []
        for values in sheet.rows():
            row = [plain(v) for v in values]
            if export.common:
                rest = "；".join(f"{h}：{v}" for h, v in zip(
                    sheet.header[export.common:], row[export.common:], strict=False)
                    if v not in ("", None))
                row = [sheet.name, *row[:export.common], text(rest)]
            batch.append(row)
            if len(batch) >= CHUNK:
                yield _csv_lines(batch)
                batch = []
        if batch:
            yield _csv_lines(batch)
    if export.trailer:
        yield _csv_lines(export.trailer)


def xlsx_file(export: OfficeExport) -> str:
    """Write the export to a temporary XLSX file (write-only workbook); return its path."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    header_row = len(export.lines) + 1
    for sheet in export.sheets:
        ws = workbook.create_sheet(sheet.name[:31])
        wrap = spreadsheet.prepare(ws, sheet.header, header_row)
        for n, line in enumerate(export.lines):
            ws.append([spreadsheet.styled(ws, line, font=Font(bold=n == 0,
                                                              size=14 if n == 0 else 10))])
        ws.append([spreadsheet.styled(ws, h, font=Font(bold=True)) for h in sheet.header])
        last = header_row
        for row in sheet.rows():
            ws.append(spreadsheet.row_cells(ws, row, wrap))
            last += 1
        spreadsheet.finish(ws, header_row, len(sheet.header), last)
        for row in export.trailer:
            ws.append(row)
    handle, path = tempfile.mkstemp(prefix="fieldlog-export-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook.save(path)
    except Exception:
        os.unlink(path)
        raise
    return path


class stream_file:  # noqa: N801  (used like a function: stream_file(path))
    """Iterate a file's bytes and delete it when the server closes the response.

    WSGI servers call close() whether the body was sent in full, cut off, or never started
    (a HEAD request), which a generator's `finally` would miss in the last case.
    """

    def __init__(self, path: str, size: int = 256 * 1024):
        self.path, self.size, self.handle = path, size, open(path, "rb")  # noqa: SIM115

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.handle.read(self.size):
            yield chunk

    def close(self) -> None:
        self.handle.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


# --- 驻村工作台账: every record of the period -------------------------------------------------

COMMON = ["发生时间", "村", "记录人", "审核状态", "版本", "记录编号"]


def _records(query: Select, shape: Callable[[object], list]) -> Callable[[], Iterator[list]]:
    def rows() -> Iterator[list]:
        result = db.session.execute(query.execution_options(yield_per=CHUNK))
        for part in result.partitions():
            for row in part:
                yield shape(row)
    return rows


def _base(model, villages: Select, low: datetime, high: datetime, *columns) -> Select:
    return (select(model.occurred_at, OrgUnit.name.label("village"),
                   User.display_name.label("author"), model.status, model.version, model.id,
                   *columns)
            .join(OrgUnit, OrgUnit.id == model.village_id)
            .join(User, User.id == model.author_id)
            .where(model.village_id.in_(villages), model.occurred_at >= low,
                   model.occurred_at < high)
            .order_by(model.occurred_at, model.id))


def _common(row, lab: Labels) -> list:
    return [local_dt(row.occurred_at), text(row.village), text(row.author),
            lab.status.get(row.status, row.status), row.version, str(row.id)]


def work_ledger(user: User, span: Span, village_id: int | None) -> OfficeExport:
    """驻村工作台账: visits, meetings, six-one actions, ledger items and day marks of a period."""
    villages, village = scoped_villages(user, village_id)
    low, high = span.utc_range
    lab = zh_labels()
    visits = _base(Visit, villages, low, high, Household.head_name, Household.house_label,
                   Visit.heard, Visit.requests, Visit.follow_up
                   ).join(Household, Household.id == Visit.household_id)
    meetings = _base(Meeting, villages, low, high, Meeting.meeting_type, Meeting.title,
                     Meeting.place, Meeting.host, Meeting.expected_count,
                     Meeting.attended_count, Meeting.attendees, Meeting.topics,
                     Meeting.decisions)
    actions = _base(Action, villages, low, high, Action.action_type, Action.title,
                    Action.description, Action.state, Action.due_date, Action.done_on,
                    Action.evidence)
    items = _base(LedgerItem, villages, low, high, LedgerItem.raiser_name, Household.head_name,
                  LedgerItem.category, LedgerItem.content, LedgerItem.handler,
                  LedgerItem.handler_note, LedgerItem.due_date, LedgerItem.state
                  ).outerjoin(Household, Household.id == LedgerItem.household_id)
    marks = _base(DayMark, villages, low, high, DayMark.day, DayMark.kind, DayMark.reason,
                  DayMark.note)
    sheets = [
        Sheet("走访记录", COMMON + ["户主", "门牌号", "民情", "诉求", "需跟进"], _records(
            visits, lambda r: _common(r, lab) + [text(r.head_name), text(r.house_label),
                                            text(r.heard), text(r.requests),
                                            "是" if r.follow_up else "否"])),
        Sheet("会议记录", COMMON + ["会议类型", "主题", "地点", "主持人", "应到人数",
                                 "实到人数", "参会人员", "议题", "决定事项"], _records(
            meetings, lambda r: _common(r, lab) + [
                lab.meeting.get(r.meeting_type, r.meeting_type), text(r.title), text(r.place),
                text(r.host), r.expected_count, r.attended_count, text(r.attendees),
                text(r.topics), text(r.decisions)])),
        Sheet("六个一", COMMON + ["类型", "名称", "内容", "进展", "承诺/计划日期", "完成日期",
                               "佐证"], _records(
            actions, lambda r: _common(r, lab) + [
                lab.action.get(r.action_type, r.action_type), text(r.title),
                text(r.description), lab.action_state.get(r.state, r.state),
                r.due_date, r.done_on, text(r.evidence)])),
        Sheet("民情事项", COMMON + ["反映人", "类别", "诉求内容", "承办", "承办人/单位",
                                 "办理期限", "办理状态"], _records(
            items, lambda r: _common(r, lab) + [
                text(r.head_name or r.raiser_name), lab.category.get(r.category, r.category),
                text(r.content), lab.handler.get(r.handler, r.handler), text(r.handler_note),
                r.due_date, lab.ledger_state.get(r.state, r.state)])),
        Sheet("驻村与报备", COMMON + ["日期", "类型", "事由", "说明"], _records(
            marks, lambda r: _common(r, lab) + [
                r.day, lab.day_kind.get(r.kind, r.kind),
                lab.day_reason.get(r.reason, r.reason), text(r.note)])),
    ]
    lines = _lines(user, _("Resident work ledger"), span, village, "export.work_ledger",
                   {"kind": "work_ledger", "period": span.key, "village_id": village_id,
                    "rows_at_start": sum(count_rows(q) for q in (visits, meetings, actions,
                                                                   items, marks))})
    return OfficeExport("work_ledger", "驻村工作台账", f"驻村工作台账-{span.key}", lines, sheets,
                        common=len(COMMON))


# --- 民情台账: the issue ledger -----------------------------------------------------------------


def _history(item_ids: list[str], lab: Labels) -> dict[str, str]:
    """Summarise each item's history in one query: "11-03 待办→办理中（note）；…"."""
    found: dict[str, list[str]] = {}
    rows = db.session.execute(select(
        LedgerEvent.item_id, LedgerEvent.occurred_at, LedgerEvent.from_state,
        LedgerEvent.to_state, LedgerEvent.note).where(LedgerEvent.item_id.in_(item_ids))
        .order_by(LedgerEvent.occurred_at))
    for item_id, at, before, after, note in rows:
        step = local_time(at)[:10]
        if after and after != before:
            step += f" {lab.ledger_state.get(before or '', before or '')}→" \
                    f"{lab.ledger_state.get(after, after)}"
        if note:
            step += f"（{note[:60]}）"
        found.setdefault(str(item_id), []).append(step)
    return {key: "；".join(steps) for key, steps in found.items()}


def issue_ledger(user: User, span: Span, village_id: int | None) -> OfficeExport:
    """民情台账: items raised in the period, and earlier ones still open, with their history."""
    villages, village = scoped_villages(user, village_id)
    low, high = span.utc_range
    query = (select(LedgerItem.id, LedgerItem.occurred_at, OrgUnit.name.label("village"),
                    User.display_name.label("author"), Household.head_name,
                    Household.house_label, LedgerItem.raiser_name, LedgerItem.category,
                    LedgerItem.content, LedgerItem.handler, LedgerItem.handler_note,
                    LedgerItem.due_date, LedgerItem.state, LedgerItem.resolved_at,
                    LedgerItem.feedback_at)
             .join(OrgUnit, OrgUnit.id == LedgerItem.village_id)
             .join(User, User.id == LedgerItem.author_id)
             .outerjoin(Household, Household.id == LedgerItem.household_id)
             .where(LedgerItem.village_id.in_(villages), LedgerItem.occurred_at < high,
                    or_(LedgerItem.occurred_at >= low,
                        LedgerItem.state.in_(("open", "in_progress"))))
             .order_by(LedgerItem.occurred_at, LedgerItem.id))
    today, lab = local_today(), zh_labels()

    def rows() -> Iterator[list]:
        result = db.session.execute(query.execution_options(yield_per=CHUNK))
        for part in result.partitions():
            history = _history([str(r.id) for r in part], lab)
            for r in part:
                overdue = r.due_date is not None and r.due_date < today and \
                    r.state in ("open", "in_progress")
                yield [local_dt(r.occurred_at), text(r.village), text(r.author),
                       text(r.head_name or r.raiser_name), text(r.house_label),
                       lab.category.get(r.category, r.category), text(r.content),
                       lab.handler.get(r.handler, r.handler), text(r.handler_note),
                       r.due_date, lab.ledger_state.get(r.state, r.state),
                       "是" if overdue else "", local_dt(r.resolved_at),
                       local_dt(r.feedback_at), text(history.get(str(r.id), "")), str(r.id)]

    header = ["登记时间", "村", "登记人", "反映人", "门牌号", "类别", "诉求内容", "承办",
              "承办人/单位", "办理期限", "状态", "超期", "办结时间", "反馈时间", "办理经过",
              "事项编号"]
    lines = _lines(user, _("Villagers' issue ledger"), span, village, "export.issue_ledger",
                   {"kind": "issue_ledger", "period": span.key, "village_id": village_id,
                    "rows_at_start": count_rows(query)})
    return OfficeExport("issue_ledger", "民情台账", f"民情台账-{span.key}", lines,
                        [Sheet("民情台账", header, rows)])


# --- Attendance sheet -----------------------------------------------------------------------


def attendance_sheet(user: User, span: Span, village_id: int | None) -> OfficeExport:
    """考勤表: cadre × day of the month, with village days against the county's threshold."""
    from fieldlog.services.attendance.days import month_table

    _villages, village = scoped_villages(user, village_id)
    table = [(c, m) for c, m in month_table(user, span.start.year, span.start.month)
             if village is None or c.scope_unit_id == village.id]
    last = span.end.day
    header = ["村", "姓名", *[str(d) for d in range(1, last + 1)], "在村天数", "其中报备",
              "请假天数", "要求天数", "达标"]

    # Plain values now: the CSV is written after this request's session is gone.
    rows = [[text(cadre.scope_unit.name), text(cadre.display_name),
             *[DAY_MARK.get(month.days.get(span.start.replace(day=d), ""), "")
               for d in range(1, last + 1)],
             month.village_days, month.counts.get("official", 0), month.leave_taken,
             month.threshold, "否" if month.below else "是"] for cadre, month in table]
    lab = zh_labels()
    legend = [[], ["说明：" + "　".join(f"{mark} {lab.day_state[state]}"
                                       for state, mark in DAY_MARK.items())]]
    lines = _lines(user, _("Resident attendance sheet"), span, village, "export.attendance",
                   {"kind": "attendance", "period": span.key, "village_id": village_id,
                    "rows_at_start": len(rows)})
    return OfficeExport("attendance", "驻村考勤表", f"驻村考勤表-{span.key}", lines,
                        [Sheet("考勤表", header, lambda: iter(rows))], trailer=legend)


def count_rows(query: Select) -> int:
    """Count the rows a select would return."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


# --- 记实登记表: one cadre's month -------------------------------------------------------------


def _form_rows(cadre: User, span: Span) -> list[list]:
    """The lines of the monthly record form, from the same figures as the progress table."""
    from fieldlog.models import Assignment
    from fieldlog.services.reporting.scoring import grade_for, period_scores, rubric_for

    period, lab = Period.parse(span.key), zh_labels()
    f = cadre_figures([cadre.id], period, with_days=True)[cadre.id]
    unit = db.session.scalar(select(Assignment.dispatching_unit).where(
        Assignment.user_id == cadre.id).order_by(Assignment.start_date.desc()).limit(1))
    kinds = {k: sum(1 for v in f.day_kinds.values() if v == k) for k in DAY_MARK}
    cover = {k: f"{v[0]}/{v[1]}" for k, v in f.coverage.items()}
    score = period_scores([cadre.id], period)[0]
    rows = [["基本情况", "姓名", text(cadre.display_name)], ["", "派出单位", text(unit or "")],
            ["", "驻村", f"{text(f.township)} {text(f.village)}"],
            ["", "统计期间", f"{f.start.isoformat()} 至 {f.end.isoformat()}"],
            ["驻村情况", "在村天数", f.days_in_village],
            ["", "要求天数", f.days_required],
            ["", "其中：" + " / ".join(lab.day_state[k] for k in ("records", "marked",
                                                                 "official")),
             f"{kinds['records']} / {kinds['marked']} / {kinds['official']}"],
            ["", "请假天数", f.leave_days],
            ["走访农户", "走访次数", f.visits["total"]],
            ["", "其中：三老 / 三户 / 其他",
             f"{f.visits['sanlao']} / {f.visits['sanhu']} / {f.visits['other']}"],
            ["", "走访覆盖（已访/户数）", cover["all"]],
            ["", "三老覆盖 / 三户覆盖", f"{cover['sanlao']} / {cover['sanhu']}"]]
    rows += [["会议记录" if n == 0 else "", lab.meeting.get(kind, kind), count]
             for n, (kind, count) in enumerate(f.meetings.items())]
    rows.append(["六个一", "走访一遍农户", "已完成" if f.visit_all_done else
                 f"进行中（{cover['all']}）"])
    for kind, states in f.actions.items():
        rows.append(["", lab.action.get(kind, kind), "，".join(
            f"{lab.action_state.get(s, s)} {n}" for s, n in states.items() if n) or "未开展"])
    rows += [["民情台账", "新登记事项", f.ledger_opened], ["", "办结事项", f.ledger_resolved],
             ["", "超期未办结", f.ledger_overdue],
             ["记录质量", "被退回记录", f.returned],
             ["考评", "得分（千分制）", score.total],
             ["", "等次", grade_for(score.total, rubric_for(cadre.scope_unit)["bands"], "zh")],
             ["签字", "驻村干部签字", ""], ["", "派出单位意见", ""],
             ["", "乡镇党委审核意见", ""]]
    return rows


def record_form(user: User, cadre_id: int, span: Span) -> OfficeExport:
    """记实登记表: one cadre's month in the layout of the paper form."""
    cadre = cadre_in_scope(user, cadre_id)
    rows = _form_rows(cadre, span)
    title = _("Monthly work record form · %(name)s", name=cadre.display_name)
    lines = _lines(user, title, span, None, "export.record_form",
                   {"kind": "record_form", "period": span.key, "cadre_id": cadre.id})
    return OfficeExport("record_form", "驻村工作记实登记表",
                        f"记实登记表-{cadre.display_name}-{span.key}", lines,
                        [Sheet("记实登记表", ["栏目", "项目", "情况"], lambda: iter(rows))])


# --- Score sheet ------------------------------------------------------------------------------


def score_sheet(user: User, span: Span, village_id: int | None) -> OfficeExport:
    """考评得分表: each cadre in scope, points per rubric item, total and grade."""
    from fieldlog.services.reporting.scoring import grade_for, label_of, period_scores, rubric_for
    from fieldlog.services.reporting.table import cadres_in_scope

    _villages, village = scoped_villages(user, village_id)
    cadres = [c for c in cadres_in_scope(user)
              if village is None or c.scope_unit_id == village.id]
    scores = period_scores([c.id for c in cadres], Period.parse(span.key))
    rubric = rubric_for(user.scope_unit)
    items = rubric["items"]
    header = ["名次", "村", "姓名", *[f"{label_of(i, 'zh')}（{i['max']:g}）" for i in items],
              "总分", "等次"]

    rows = []  # plain values now: the CSV is written after this request's session is gone
    for rank, score in enumerate(scores, start=1):
        points = {i.code: i.points for i in score.items}
        rows.append([rank, text(score.cadre.scope_unit.name), text(score.cadre.display_name),
                     *[points.get(i["code"], "") for i in items], score.total,
                     grade_for(score.total, rubric["bands"], "zh")])
    lines = _lines(user, _("Cadre score sheet (1,000-point scale)"), span, village,
                   "export.scores", {"kind": "scores", "period": span.key,
                                     "village_id": village_id, "rows_at_start": len(rows)})
    return OfficeExport("scores", "考评得分表", f"考评得分表-{span.key}", lines,
                        [Sheet("考评得分", header, lambda: iter(rows))])
