"""The cadre sheets: the attendance sheet, one cadre's 记实登记表 and the score sheet.

Built from figures other services compute (the attendance month, progress figures, scores) and
turned into plain values before the audit entry is written: the CSV is written after the
request's session is gone.
"""
from flask_babel import gettext as _
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import User
from fieldlog.services.reporting.figures import cadre_figures
from fieldlog.services.reporting.office_sheets import (
    OfficeExport,
    Sheet,
    Span,
    scoped_villages,
    text,
    title_lines,
    zh_labels,
)
from fieldlog.services.reporting.period import Period
from fieldlog.services.reporting.table import cadre_in_scope

DAY_MARK = {"records": "√", "marked": "○", "official": "公", "leave": "假"}


# --- Attendance sheet -----------------------------------------------------------------------


def attendance_sheet(user: User, span: Span, village_id: int | None) -> OfficeExport:
    """考勤表: cadre × day of the month, with village days against the county's threshold."""
    from fieldlog.services.attendance.monthly import month_table

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
    lines = title_lines(user, _("Resident attendance sheet"), span, village, "export.attendance",
                        {"kind": "attendance", "period": span.key, "village_id": village_id,
                         "rows_at_start": len(rows)})
    return OfficeExport("attendance", "驻村考勤表", f"驻村考勤表-{span.key}", lines,
                        [Sheet("考勤表", header, lambda: iter(rows))], trailer=legend)


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
    lines = title_lines(user, title, span, None, "export.record_form",
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
    lines = title_lines(user, _("Cadre score sheet (1,000-point scale)"), span, village,
                        "export.scores", {"kind": "scores", "period": span.key,
                                          "village_id": village_id, "rows_at_start": len(rows)})
    return OfficeExport("scores", "考评得分表", f"考评得分表-{span.key}", lines,
                        [Sheet("考评得分", header, lambda: iter(rows))])
