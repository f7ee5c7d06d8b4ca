"""The files offices already keep, exported from the records: XLSX and CSV, streamed flat.

驻村工作台账 (every record of a period), 民情台账 (the issue ledger), 记实登记表 (one cadre's
month), the attendance sheet and the score sheet. Each export is scoped to the user, audited
before the first byte goes out, titled with the county and period, and marked with who exported
it and when. Rows are read with `yield_per` (a server-side cursor on PostgreSQL) and written as
they come: CSV straight into the response, XLSX through a write-only workbook into a temporary
file that is then streamed and deleted, so memory stays flat whatever the size.
"""
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask_babel import get_timezone
from flask_babel import gettext as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Select, func, or_, select

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
from fieldlog.services.org.settings import county_id_of
from fieldlog.services.people.audit import record
from fieldlog.services.reporting.progress import Period, cadre_figures, cadre_in_scope
from fieldlog.services.reporting.visit_exports import MARKING, _cell, _csv_lines
from fieldlog.timefmt import local_midnight_utc, local_today

CHUNK = 1000
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")


class L:
    """Chinese names of the stored codes, as the office forms write them."""

    STATUS = {"submitted": "待审核", "returned": "已退回", "approved": "已通过"}
    MEETING = {"branch_assembly": "支部党员大会", "branch_committee": "支委会",
               "party_group": "党小组会", "party_lecture": "党课", "villagers_say": "村民说事",
               "two_committees": "村两委会议", "other": "其他会议"}
    ACTION = {"party_lecture": "讲好一堂党课", "practical_deed": "办好一件实事",
              "activity": "组织一次活动", "plan": "制定一个计划", "pledge": "做出一份承诺"}
    ACTION_STATE = {"planned": "计划中", "under_way": "进行中", "done": "已完成"}
    CATEGORY = {"infrastructure": "基础设施", "industry_jobs": "产业就业",
                "social_security": "社会保障", "health": "医疗卫生", "education": "教育",
                "housing": "住房", "environment": "人居环境", "dispute": "矛盾纠纷",
                "other": "其他"}
    HANDLER = {"village_committee": "村两委", "township": "乡镇", "dispatching_unit": "派出单位",
               "county_department": "县直部门", "secretary": "第一书记", "other": "其他"}
    LEDGER_STATE = {"open": "待办", "in_progress": "办理中", "resolved": "已办结",
                    "feedback": "已反馈"}
    DAY_KIND = {"present": "在村", "official": "报备公务"}
    DAY_REASON = {"meeting": "会议", "training": "培训", "project": "项目", "other": "其他"}
    DAY_MARK = {"records": "√", "marked": "○", "official": "公", "leave": "假"}


def text(value) -> str:
    """A text cell safe for spreadsheets: no formula, no control characters XML refuses."""
    return ILLEGAL_CHARACTERS_RE.sub("", _cell(value))


def local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(get_timezone()).strftime("%Y-%m-%d %H:%M")


def day_text(value: date | None) -> str:
    return value.isoformat() if value else ""


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


def _lines(user: User, title: str, span_label: str, village: OrgUnit | None,
           action: str, details: dict) -> list[str]:
    """Audit the export (committed before any byte is sent) and return its title lines."""
    entry = record(action, actor=user, object_type="export", object_id=details.get("kind", ""),
                   details=details)
    db.session.commit()
    county = db.session.get(OrgUnit, county_id_of(user.scope_unit))
    place = county.name + (f" · {village.name}" if village else "")
    return [f"{place}　{title}（{span_label}）", MARKING,
            f"导出人：{user.display_name}（{user.username}）　导出时间：{local_time(entry.at)}"
            f"　审计编号：{entry.id}"]


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
        for row in sheet.rows():
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
    for sheet in export.sheets:
        ws = workbook.create_sheet(sheet.name[:31])
        ws.freeze_panes = "A5"
        for n, line in enumerate(export.lines):
            ws.append([_styled(ws, line, Font(bold=n == 0, size=14 if n == 0 else 10))])
        ws.append([_styled(ws, h, Font(bold=True)) for h in sheet.header])
        for row in sheet.rows():
            ws.append(row)
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


def _styled(ws, value, font):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.font = font
    return cell


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


def _common(row) -> list:
    return [local_time(row.occurred_at), text(row.village), text(row.author),
            L.STATUS.get(row.status, row.status), row.version, str(row.id)]


def work_ledger(user: User, span: Span, village_id: int | None) -> OfficeExport:
    """驻村工作台账: visits, meetings, six-one actions, ledger items and day marks of a period."""
    villages, village = scoped_villages(user, village_id)
    low, high = span.utc_range
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
            visits, lambda r: _common(r) + [text(r.head_name), text(r.house_label),
                                            text(r.heard), text(r.requests),
                                            "是" if r.follow_up else "否"])),
        Sheet("会议记录", COMMON + ["会议类型", "主题", "地点", "主持人", "应到人数",
                                 "实到人数", "参会人员", "议题", "决定事项"], _records(
            meetings, lambda r: _common(r) + [
                L.MEETING.get(r.meeting_type, r.meeting_type), text(r.title), text(r.place),
                text(r.host), r.expected_count, r.attended_count, text(r.attendees),
                text(r.topics), text(r.decisions)])),
        Sheet("六个一", COMMON + ["类型", "名称", "内容", "进展", "承诺/计划日期", "完成日期",
                               "佐证"], _records(
            actions, lambda r: _common(r) + [
                L.ACTION.get(r.action_type, r.action_type), text(r.title),
                text(r.description), L.ACTION_STATE.get(r.state, r.state),
                day_text(r.due_date), day_text(r.done_on), text(r.evidence)])),
        Sheet("民情事项", COMMON + ["反映人", "类别", "诉求内容", "承办", "承办人/单位",
                                 "办理期限", "办理状态"], _records(
            items, lambda r: _common(r) + [
                text(r.head_name or r.raiser_name), L.CATEGORY.get(r.category, r.category),
                text(r.content), L.HANDLER.get(r.handler, r.handler), text(r.handler_note),
                day_text(r.due_date), L.LEDGER_STATE.get(r.state, r.state)])),
        Sheet("驻村与报备", COMMON + ["日期", "类型", "事由", "说明"], _records(
            marks, lambda r: _common(r) + [
                day_text(r.day), L.DAY_KIND.get(r.kind, r.kind),
                L.DAY_REASON.get(r.reason, r.reason), text(r.note)])),
    ]
    lines = _lines(user, "驻村工作台账", span.label, village, "export.work_ledger",
                   {"kind": "work_ledger", "period": span.key, "village_id": village_id,
                    "rows_at_start": sum(count_rows(q) for q in (visits, meetings, actions,
                                                                   items, marks))})
    return OfficeExport("work_ledger", "驻村工作台账", f"驻村工作台账-{span.key}", lines, sheets,
                        common=len(COMMON))


# --- 民情台账: the issue ledger -----------------------------------------------------------------


def _history(item_ids: list[str]) -> dict[str, str]:
    """Summarise each item's history in one query: "11-03 待办→办理中（note）；…"."""
    found: dict[str, list[str]] = {}
    rows = db.session.execute(select(
        LedgerEvent.item_id, LedgerEvent.occurred_at, LedgerEvent.from_state,
        LedgerEvent.to_state, LedgerEvent.note).where(LedgerEvent.item_id.in_(item_ids))
        .order_by(LedgerEvent.occurred_at))
    for item_id, at, before, after, note in rows:
        step = local_time(at)[:10]
        if after and after != before:
            step += f" {L.LEDGER_STATE.get(before or '', before or '')}→" \
                    f"{L.LEDGER_STATE.get(after, after)}"
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
    today = local_today()

    def rows() -> Iterator[list]:
        result = db.session.execute(query.execution_options(yield_per=CHUNK))
        for part in result.partitions():
            history = _history([str(r.id) for r in part])
            for r in part:
                overdue = r.due_date is not None and r.due_date < today and \
                    r.state in ("open", "in_progress")
                yield [local_time(r.occurred_at), text(r.village), text(r.author),
                       text(r.head_name or r.raiser_name), text(r.house_label),
                       L.CATEGORY.get(r.category, r.category), text(r.content),
                       L.HANDLER.get(r.handler, r.handler), text(r.handler_note),
                       day_text(r.due_date), L.LEDGER_STATE.get(r.state, r.state),
                       "是" if overdue else "", local_time(r.resolved_at),
                       local_time(r.feedback_at), text(history.get(str(r.id), "")), str(r.id)]

    header = ["登记时间", "村", "登记人", "反映人", "门牌号", "类别", "诉求内容", "承办",
              "承办人/单位", "办理期限", "状态", "超期", "办结时间", "反馈时间", "办理经过",
              "事项编号"]
    lines = _lines(user, "民情台账", span.label, village, "export.issue_ledger",
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

    def rows() -> Iterator[list]:
        for cadre, month in table:
            days = [L.DAY_MARK.get(month.days.get(span.start.replace(day=d), ""), "")
                    for d in range(1, last + 1)]
            yield [text(cadre.scope_unit.name), text(cadre.display_name), *days,
                   month.village_days, month.counts.get("official", 0), month.leave_taken,
                   month.threshold, "否" if month.below else "是"]

    lines = _lines(user, "驻村考勤表", span.label, village, "export.attendance",
                   {"kind": "attendance", "period": span.key, "village_id": village_id,
                    "rows_at_start": len(table)})
    legend = [[], ["说明：√ 当日记录在村　○ 本人标记在村　公 报备公务　假 请假（已批准）"]]
    return OfficeExport("attendance", "驻村考勤表", f"驻村考勤表-{span.key}", lines,
                        [Sheet("考勤表", header, rows)], trailer=legend)


def count_rows(query: Select) -> int:
    """Count the rows a select would return."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


# --- 记实登记表: one cadre's month -------------------------------------------------------------


def _form_rows(cadre: User, span: Span) -> list[list]:
    """The lines of the monthly record form, from the same figures as the progress table."""
    from fieldlog.models import Assignment
    from fieldlog.services.reporting.scoring import grade_for, period_scores, rubric_for

    period = Period.parse(span.key)
    f = cadre_figures([cadre.id], period, with_days=True)[cadre.id]
    unit = db.session.scalar(select(Assignment.dispatching_unit).where(
        Assignment.user_id == cadre.id).order_by(Assignment.start_date.desc()).limit(1))
    kinds = {k: sum(1 for v in f.day_kinds.values() if v == k) for k in L.DAY_MARK}
    cover = {k: f"{v[0]}/{v[1]}" for k, v in f.coverage.items()}
    score = period_scores([cadre.id], period)[0]
    rows = [["基本情况", "姓名", text(cadre.display_name)], ["", "派出单位", text(unit or "")],
            ["", "驻村", f"{text(f.township)} {text(f.village)}"],
            ["", "统计期间", f"{f.start.isoformat()} 至 {f.end.isoformat()}"],
            ["驻村情况", "在村天数", f.days_in_village],
            ["", "要求天数", f.days_required],
            ["", "其中：记录在村 / 标记在村 / 报备公务",
             f"{kinds['records']} / {kinds['marked']} / {kinds['official']}"],
            ["", "请假天数", f.leave_days],
            ["走访农户", "走访次数", f.visits["total"]],
            ["", "其中：三老 / 三户 / 其他",
             f"{f.visits['sanlao']} / {f.visits['sanhu']} / {f.visits['other']}"],
            ["", "走访覆盖（已访/户数）", cover["all"]],
            ["", "三老覆盖 / 三户覆盖", f"{cover['sanlao']} / {cover['sanhu']}"]]
    rows += [["会议记录" if n == 0 else "", L.MEETING.get(kind, kind), count]
             for n, (kind, count) in enumerate(f.meetings.items())]
    rows.append(["六个一", "走访一遍农户", "已完成" if f.visit_all_done else
                 f"进行中（{cover['all']}）"])
    for kind, states in f.actions.items():
        rows.append(["", L.ACTION.get(kind, kind), "，".join(
            f"{L.ACTION_STATE.get(s, s)} {n}" for s, n in states.items() if n) or "未开展"])
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
    lines = _lines(user, f"第一书记驻村工作记实登记表 · {cadre.display_name}", span.label, None,
                   "export.record_form", {"kind": "record_form", "period": span.key,
                                          "cadre_id": cadre.id})
    return OfficeExport("record_form", "驻村工作记实登记表",
                        f"记实登记表-{cadre.display_name}-{span.key}", lines,
                        [Sheet("记实登记表", ["栏目", "项目", "情况"], lambda: iter(rows))])


# --- Score sheet ------------------------------------------------------------------------------


def score_sheet(user: User, span: Span, village_id: int | None) -> OfficeExport:
    """考评得分表: each cadre in scope, points per rubric item, total and grade."""
    from fieldlog.services.reporting.progress import cadres_in_scope
    from fieldlog.services.reporting.scoring import grade_for, label_of, period_scores, rubric_for

    _villages, village = scoped_villages(user, village_id)
    cadres = [c for c in cadres_in_scope(user)
              if village is None or c.scope_unit_id == village.id]
    scores = period_scores([c.id for c in cadres], Period.parse(span.key))
    rubric = rubric_for(user.scope_unit)
    items = rubric["items"]
    header = ["名次", "村", "姓名", *[f"{label_of(i, 'zh')}（{i['max']:g}）" for i in items],
              "总分", "等次"]

    def rows() -> Iterator[list]:
        for rank, score in enumerate(scores, start=1):
            points = {i.code: i.points for i in score.items}
            yield [rank, text(score.cadre.scope_unit.name), text(score.cadre.display_name),
                   *[points.get(i["code"], "") for i in items], score.total,
                   grade_for(score.total, rubric["bands"], "zh")]

    lines = _lines(user, "驻村干部考评得分表（千分制）", span.label, village, "export.scores",
                   {"kind": "scores", "period": span.key, "village_id": village_id,
                    "rows_at_start": len(scores)})
    return OfficeExport("scores", "考评得分表", f"考评得分表-{span.key}", lines,
                        [Sheet("考评得分", header, rows)])
