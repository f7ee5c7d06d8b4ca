"""The record ledgers as sheets: 驻村工作台账 (every record of a period) and 民情台账 (issues).

Both read the records of the villages in scope with queries the stream runs itself (a CSV is
written after the request's session is gone), a chunk at a time; the row count at the start goes
into the audit entry.
"""
from collections.abc import Callable, Iterator
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

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
from fieldlog.services.reporting.office_sheets import (
    CHUNK,
    Labels,
    OfficeExport,
    Sheet,
    Span,
    local_dt,
    local_time,
    scoped_villages,
    text,
    title_lines,
    zh_labels,
)
from fieldlog.timefmt import local_today

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
    lines = title_lines(user, _("Resident work ledger"), span, village, "export.work_ledger",
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
    lines = title_lines(user, _("Villagers' issue ledger"), span, village, "export.issue_ledger",
                        {"kind": "issue_ledger", "period": span.key, "village_id": village_id,
                         "rows_at_start": count_rows(query)})
    return OfficeExport("issue_ledger", "民情台账", f"民情台账-{span.key}", lines,
                        [Sheet("民情台账", header, rows)])


def count_rows(query: Select) -> int:
    """Count the rows a select would return."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
