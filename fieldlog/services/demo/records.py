"""The demo county's records beyond visits: goals, meetings, six-one actions, the villagers'
ledger with its history, day marks, leave with its approvals, and review decisions.

Each secretary's records go through the sync service as one batch, exactly as their phone
would send them (versions, links, hashes and audit entries come out right); then the server
times are moved back to when such a phone would have synced, since the demo is loaded today.
Everything is drawn from the caller's seeded `random.Random`.
"""
import json
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from fieldlog.clock import now as wall_now
from fieldlog.clock import utcnow as wall_utcnow
from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    DayMark,
    Goal,
    LeaveDecision,
    LeaveRequest,
    LedgerEvent,
    LedgerItem,
    Meeting,
    RecordVersion,
    ReviewDecision,
    User,
    Visit,
)
from fieldlog.services.records.sync import apply_batch

GOALS = {
    "strong_team": ("建强村党支部班子", "支委会每月至少开一次，后备干部培养2名"),
    "new_members": ("发展年轻党员", "培养入党积极分子3名，发展党员1名"),
    "highlights": ("打造茶旅融合示范点", "建成观光茶园50亩，接待游客1000人次"),
    "project": ("引进茶叶精深加工项目", "年底前签约落地，带动就业30人"),
    "stability": ("确保一方稳定", "全年无进京赴省上访、无重大安全事故"),
}
MEETINGS = {
    "branch_assembly": (
        "支部党员大会",
        "学习党的二十届四中全会精神；讨论年度村级集体经济发展计划",
        "通过年度发展计划，分三个小组落实",
    ),
    "branch_committee": (
        "支委会",
        "研究入党积极分子培养；安排秋季防火值守",
        "确定2名培养对象，排出值班表",
    ),
    "party_group": (
        "党小组会",
        "组织学习《中国共产党农村基层组织工作条例》",
        "每名党员联系5户群众",
    ),
    "party_lecture": (
        "主题党课",
        "第一书记讲党课：传承红色基因，助力乡村振兴",
        "",
    ),
    "villagers_say": (
        "村民说事",
        "村民反映通组路破损、饮水管老化等问题",
        "通组路纳入明年一事一议，饮水管本月内抢修",
    ),
    "two_committees": (
        "村两委联席会议",
        "研究集体经济合作社分红方案；低保评议",
        "分红方案提交村民代表大会表决",
    ),
}
MEETINGS["other"] = (
    "村集体经济合作社理事会",
    "讨论茶叶合作社年度分红和明年扩种计划",
    "分红方案公示七天，扩种50亩",
)
ACTIONS = {
    "party_lecture": (
        "为全村党员讲一堂党课",
        "结合脱贫攻坚历程讲党的群众路线",
        "党员38人参加，签到表已存档",
    ),
    "practical_deed": (
        "修缮村小学饮水设施",
        "协调派出单位资金2万元更换管网",
        "已完工，师生120人受益",
    ),
    "activity": (
        "组织重阳节敬老活动",
        "为70岁以上老人义诊、理发、送慰问品",
        "慰问老人46名",
    ),
    "plan": (
        "制定村级发展三年规划",
        "茶叶、林下养鸡两个产业，配套冷库一座",
        "经村民代表大会通过",
    ),
    "pledge": (
        "承诺年底前修通3组通组路",
        "争取交通局项目资金，组织群众投工投劳",
        "",
    ),
}
LEDGER = [("infrastructure", "township"), ("social_security", "township"),
          ("health", "county_department"), ("industry_jobs", "dispatching_unit"),
          ("housing", "village_committee"), ("education", "secretary")]
LEDGER_NOTES = {"in_progress": "已报乡镇分管领导，列入本月办理计划",
                "resolved": "已办结，现场查看确认", "feedback": "已电话告知户主办理结果，户主满意"}
MARK_NOTES = {"present": ["上午在村委会整理台账，下午走访因雨推迟", "在村协调茶园土地流转"],
              "official": ["参加县委组织部第一书记培训", "到县交通局对接通组路项目",
                           "参加乡镇党委季度工作会"]}
LEAVE_REASONS = ["家中老人住院，需回家照顾", "孩子学校开家长会", "回派出单位办理人事手续"]
RETURN_COMMENTS = ["民情记录过于简单，请补充户主反映的具体困难。",
                   "诉求未写明办理对象，请补充后重新提交。",
                   "照片与走访农户不符，请核实后修改。"]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _Clock:
    """Local working-day times between `first` and yesterday, as aware datetimes."""

    def __init__(self, rng: random.Random, zone: ZoneInfo, first: date, today: date):
        self.rng, self.zone, self.first, self.today = rng, zone, first, today

    def workday(self, first: date | None = None, last: date | None = None) -> date:
        first, last = first or self.first, last or self.today - timedelta(days=1)
        last = max(first, last)
        while True:
            day = first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))
            if day.weekday() < 5 or first == last:
                return day

    def at(self, day: date, start: int = 9, end: int = 17) -> datetime:
        moment = time(self.rng.randint(start, end - 1), self.rng.randrange(0, 60, 5))
        return datetime.combine(day, moment, tzinfo=self.zone)


def _record(rng, record_type: str, when: datetime, spot, **fields) -> dict:
    record = {"type": record_type, "id": _uuid(rng), "occurred_at": when.isoformat(),
              "device_created_at": (when + timedelta(minutes=rng.randint(1, 20))).isoformat(),
              **fields}
    if spot is not None and record_type not in ("ledger_update", "leave"):
        record["location"] = {"lat": round(spot.lat + rng.uniform(-0.002, 0.002), 6),
                              "lon": round(spot.lon + rng.uniform(-0.002, 0.002), 6),
                              "accuracy_m": round(rng.uniform(6, 25), 1)}
    return record


def _batch(rng, clock, sec, visits: list[Visit], pending_leave: bool) -> tuple[list, dict]:
    """Return one secretary's records, and what to do after (leave outcomes)."""
    village, records, after = sec.village, [], {"leave": {}}
    goals = []
    for goal_type in rng.sample(sorted(GOALS), 3):
        title, target = GOALS[goal_type]
        goals.append(_record(rng, "goal", clock.at(clock.first), village,
                             goal_type=goal_type, title=title, target=target,
                             progress="按计划推进中", state="under_way"))
    records += goals
    for meeting_type, (title, topics, decisions) in MEETINGS.items():
        when = clock.at(clock.workday(), 9, 16)
        expected = rng.randint(8, 40)
        records.append(_record(
            rng, "meeting", when, village, meeting_type=meeting_type, title=title,
            place="村委会会议室", host=sec.user.display_name, expected_count=expected,
            attended_count=expected - rng.randint(0, 4), attendees="", topics=topics,
            decisions=decisions,
            goal_ids=[goals[0]["id"]] if meeting_type == "branch_committee" else []))
    states = {"party_lecture": "done", "plan": "done",
              "practical_deed": rng.choice(["done", "under_way"]),
              "activity": rng.choice(["done", "planned"]), "pledge": "under_way"}
    for action_type, (title, description, evidence) in ACTIONS.items():
        when, state = clock.at(clock.workday()), states[action_type]
        records.append(_record(
            rng, "action", when, village, action_type=action_type, title=title,
            description=description, state=state, evidence=evidence if state == "done" else "",
            done_on=when.date().isoformat() if state == "done" else None,
            due_date=(clock.today + timedelta(days=40)).isoformat()
            if action_type == "pledge" else None,
            goal_ids=[goals[1]["id"]] if action_type == "practical_deed" else []))
    records += _ledger(rng, clock, sec, visits)
    records += _marks(rng, clock, sec, {v.occurred_at for v in visits})
    records += _leave(rng, clock, sec, pending_leave, after)
    return records, after


def _ledger(rng, clock, sec, visits: list[Visit]) -> list[dict]:
    """Items raised in visits with requests, in every state, with their updates."""
    asked = [v for v in visits if v.requests][:6]
    records = []
    targets = ["open", "in_progress", "resolved", "feedback", "feedback", "in_progress"]
    for visit, target in zip(asked, targets, strict=False):
        category, handler = rng.choice(LEDGER)
        raised = visit.occurred_at.replace(tzinfo=UTC) + timedelta(minutes=rng.randint(5, 40))
        item = _record(rng, "ledger_item", raised.astimezone(clock.zone), sec.village,
                       household_id=visit.household_id, category=category,
                       content=visit.requests[:200], handler=handler,
                       due_date=(raised.date() + timedelta(days=rng.choice([7, 15, 30])))
                       .isoformat(), source={"type": "visit", "id": visit.id})
        records.append(item)
        moment = raised
        for state in ("in_progress", "resolved", "feedback"):
            if ["open", "in_progress", "resolved", "feedback"].index(target) < \
                    ["open", "in_progress", "resolved", "feedback"].index(state):
                break
            moment = min(moment + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5)),
                         wall_now() - timedelta(hours=2))
            records.append(_record(rng, "ledger_update", moment.astimezone(clock.zone),
                                   None, item_id=item["id"], to_state=state,
                                   note=LEDGER_NOTES[state]))
    return records


def _marks(rng, clock, sec, visit_times: set[datetime]) -> list[dict]:
    """Days without a visit marked present, or away on reported official business."""
    visited = {t.replace(tzinfo=UTC).astimezone(clock.zone).date() for t in visit_times}
    records, taken = [], set()
    for kind, reason in (("present", "other"), ("official", "training"),
                         ("official", "meeting")):
        day = clock.workday()
        if day in visited or day in taken:
            continue
        taken.add(day)
        records.append(_record(rng, "day_mark", clock.at(day, 18, 21), sec.village,
                               day=day.isoformat(), kind=kind, reason=reason,
                               note=rng.choice(MARK_NOTES[kind])))
    return records


def _leave(rng, clock, sec, pending: bool, after: dict) -> list[dict]:
    """A past leave (approved, or now and then rejected) and perhaps one waiting for approval."""
    records = []
    start = clock.workday(clock.first, clock.today - timedelta(days=10))
    past = _record(rng, "leave", clock.at(start - timedelta(days=3)), None,
                   leave_type=rng.choice(["personal", "sick"]), start_date=start.isoformat(),
                   end_date=(start + timedelta(days=rng.choice([0, 1, 2]))).isoformat(),
                   reason=rng.choice(LEAVE_REASONS))
    records.append(past)
    after["leave"][past["id"]] = "rejected" if rng.random() < 0.2 else "approved"
    if pending:
        first = clock.today + timedelta(days=rng.randint(3, 12))
        wanted = _record(rng, "leave", clock.at(clock.today - timedelta(days=1)), None,
                         leave_type="personal", start_date=first.isoformat(),
                         end_date=(first + timedelta(days=rng.choice([1, 2, 4]))).isoformat(),
                         reason=rng.choice(LEAVE_REASONS))
        records.append(wanted)
    return records


def build_demo_records(rng: random.Random, secretaries: list, reviewers: dict[str, User],
                       first: date, today: date, zone: ZoneInfo) -> dict[str, int]:
    """Add every secretary's other records and the reviewers' decisions; return counts."""
    if first >= today - timedelta(days=1):  # no history yet (DEMO_WEEKS=0)
        return {}
    clock = _Clock(rng, zone, first, today)
    pending_scope = reviewers["sup_town"].scope_unit.path
    for sec in secretaries:
        visits = list(db.session.scalars(select(Visit).where(Visit.author_id == sec.user.id)
                                         .order_by(Visit.occurred_at)))
        records, after = _batch(rng, clock, sec, visits,
                                sec.village.path.startswith(pending_scope) or rng.random() < .3)
        answers = apply_batch(sec.user, sec.token.id, records)
        refused = [a for a in answers if a["status"] != "stored"]
        assert not refused, refused  # the demo must pass the app's own rules
        _decide_leave(rng, reviewers, after["leave"])
    _backdate(rng)
    reviewed = _review(rng, reviewers)
    db.session.commit()
    counts = {name: db.session.scalar(select(func.count()).select_from(model)) for name, model in (
        ("meetings", Meeting), ("six-one actions", Action), ("goals", Goal),
        ("ledger items", LedgerItem), ("day marks", DayMark), ("leave requests", LeaveRequest))}
    return counts | {"records approved": reviewed["approved"],
                     "records returned": reviewed["returned"]}


def _decide_leave(rng, reviewers: dict[str, User], outcomes: dict[str, str]) -> None:
    """Approve (or reject) past leave along its chain, as the approvers would have."""
    by_level = {"township": reviewers["sup_town"], "county": reviewers["sup_county"]}
    for leave_id, outcome in outcomes.items():
        leave = db.session.get(LeaveRequest, leave_id)
        chain = json.loads(leave.chain) or ["township"]
        decided = leave.occurred_at
        steps = chain if outcome == "approved" else chain[:1]
        for step, level in enumerate(steps):
            decided += timedelta(hours=rng.randint(2, 20))
            approver = by_level[level] if level != "township" or leave.village.path.startswith(
                by_level["township"].scope_unit.path) else by_level["county"]
            db.session.add(LeaveDecision(
                leave_id=leave.id, step=step, level=level, approver_id=approver.id,
                decision=outcome, comment="" if outcome == "approved" else "村里近期有检查，请改期",
                decided_at=decided))
        leave.state, leave.step, leave.decided_at = outcome, len(steps), decided
    db.session.flush()


def _backdate(rng) -> None:
    """Move server times back to when the phones would have synced (the demo loads today)."""
    now = wall_utcnow() - timedelta(minutes=5)
    received: dict[str, datetime] = {}
    for model in (Goal, Meeting, Action, LedgerItem, DayMark, LeaveRequest):
        rows = db.session.execute(select(model.id, model.device_created_at)
                                  .order_by(model.device_created_at, model.id)).all()
        moved = [{"id": rid, "received_at": min(made + timedelta(minutes=rng.randint(2, 90)),
                                                now)} for rid, made in rows]
        received.update((row["id"], row["received_at"]) for row in moved)
        if moved:
            db.session.execute(update(model), moved)
    versions = [{"id": vid, "received_at": received[rid]} for vid, rid in db.session.execute(
        select(RecordVersion.id, RecordVersion.record_id)) if rid in received]
    if versions:
        db.session.execute(update(RecordVersion), versions)
    events, items = [], {}
    for eid, item_id, at, state in db.session.execute(
            select(LedgerEvent.id, LedgerEvent.item_id, LedgerEvent.occurred_at,
                   LedgerEvent.to_state).order_by(LedgerEvent.occurred_at, LedgerEvent.id)):
        events.append({"id": eid, "received_at": min(at + timedelta(minutes=rng.randint(2, 60)),
                                                     now)})
        item = items.setdefault(item_id, {"id": item_id})
        item["state_changed_at"] = at
        if state in ("resolved", "feedback"):
            item[f"{state}_at"] = at
    if events:
        db.session.execute(update(LedgerEvent), events)
    for item in items.values():  # rows differ in their keys: one statement each (a few dozen)
        db.session.execute(update(LedgerItem).where(LedgerItem.id == item.pop("id"))
                           .values(**item))
    db.session.expire_all()


def _review(rng, reviewers: dict[str, User]) -> dict[str, int]:
    """Approve some visits and meetings; return a few with a comment for the cadre to fix."""
    counts = {"approved": 0, "returned": 0}
    for kind, model in (("visit", Visit), ("meeting", Meeting)):
        for row in db.session.scalars(select(model).order_by(model.occurred_at, model.id)):
            draw = rng.random()
            decision = "approved" if draw < 0.25 else "returned" if draw < 0.31 else None
            if decision is None:
                continue
            reviewer = reviewers["sup_town"] if row.village.path.startswith(
                reviewers["sup_town"].scope_unit.path) else reviewers["sup_county"]
            decided = row.received_at + timedelta(hours=rng.randint(3, 60))
            now = wall_utcnow()
            db.session.add(ReviewDecision(
                record_type=kind, record_id=row.id, version=row.version, decision=decision,
                comment=rng.choice(RETURN_COMMENTS) if decision == "returned" else "",
                reviewer_id=reviewer.id, decided_at=min(decided, now - timedelta(minutes=3))))
            row.status = decision
            counts[decision] += 1
    return counts
