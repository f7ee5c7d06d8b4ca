"""Vocabulary of the domain: household tags and their groups (访三老、走三户)."""
from datetime import date, datetime

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

# Stable codes stored in the database; labels are translated for display.
TAGS = {
    "old_party_member": _l("Old party member"),  # 老党员
    "retired_cadre": _l("Retired cadre"),  # 老干部
    "model_worker": _l("Model worker"),  # 老模范
    "hardship": _l("Hardship household"),  # 困难户
    "well_off": _l("Well-off household"),  # 富裕户
    "petitioner": _l("Petitioner household"),  # 上访户
    "five_guarantees": _l("Five-guarantee household"),  # 五保户
    "low_income": _l("Minimum-living-allowance household"),  # 低保户
    "monitored": _l("Poverty-monitoring household"),  # 脱贫监测户
    "disability": _l("Household with disability"),  # 残疾人户
    "left_behind_elderly": _l("Left-behind elderly"),  # 留守老人
    "left_behind_children": _l("Left-behind children"),  # 留守儿童
}
SANLAO = ("old_party_member", "retired_cadre", "model_worker")
SANHU = ("hardship", "well_off", "petitioner")
PRIORITY_TAGS = SANLAO + SANHU


def tag_label(code: str) -> str:
    """Return the display label of a tag code (the code itself if unknown)."""
    return str(TAGS.get(code, code))


# Labels of the record vocabularies (codes in fieldlog.models); one wording for every page.
MEETING_TYPE_LABELS = {
    "branch_assembly": _l("Branch party members' assembly"),  # 支部党员大会
    "branch_committee": _l("Branch committee meeting"),  # 支委会
    "party_group": _l("Party group meeting"),  # 党小组会
    "party_lecture": _l("Party lecture"),  # 党课
    "villagers_say": _l("Villagers' say"),  # 村民说事
    "two_committees": _l("Two committees meeting"),  # 村两委会议
    "other": _l("Other meeting"),  # 其他
}
# The six-one actions; visit_all (走访一遍农户) comes from coverage, the others are records.
ACTION_TYPE_LABELS = {
    "visit_all": _l("Visit every household"),  # 走访一遍农户
    "party_lecture": _l("Give a party lecture"),  # 讲好一堂党课
    "practical_deed": _l("Deliver a practical deed"),  # 办好一件实事
    "activity": _l("Organise an activity"),  # 组织一次活动
    "plan": _l("Make a plan"),  # 制定一个计划
    "pledge": _l("Make a pledge"),  # 做出一份承诺
}
ACTION_STATE_LABELS = {"planned": _l("Planned"), "under_way": _l("Under way"),
                       "done": _l("Done")}
GOAL_TYPE_LABELS = {
    "strong_team": _l("Build a strong team"),  # 建强一个班子
    "new_members": _l("Develop new party members"),  # 发展一批党员
    "highlights": _l("Cultivate highlights"),  # 培育一批亮点
    "project": _l("Bring in a project"),  # 引进一个项目
    "stability": _l("Keep the village stable"),  # 确保一方稳定
}
LEDGER_CATEGORY_LABELS = {
    "infrastructure": _l("Infrastructure"),  # 基础设施
    "industry_jobs": _l("Industry and jobs"),  # 产业就业
    "social_security": _l("Social security"),  # 社会保障
    "health": _l("Health care"),  # 医疗卫生
    "education": _l("Education"),  # 教育
    "housing": _l("Housing"),  # 住房
    "environment": _l("Living environment"),  # 人居环境
    "dispute": _l("Disputes"),  # 矛盾纠纷
    "other": _l("Other"),  # 其他
}
LEDGER_HANDLER_LABELS = {
    "village_committee": _l("Village committee"),  # 村委会
    "township": _l("Township"),  # 乡镇
    "dispatching_unit": _l("Dispatching unit"),  # 派出单位
    "county_department": _l("County department"),  # 县直部门
    "secretary": _l("First secretary"),  # 第一书记本人
    "other": _l("Other"),  # 其他
}
LEDGER_STATE_LABELS = {
    "open": _l("To handle"),  # 待办理
    "in_progress": _l("In progress"),  # 办理中
    "resolved": _l("Resolved"),  # 已解决
    "feedback": _l("Reported back"),  # 已反馈
}
LEAVE_TYPE_LABELS = {"personal": _l("Personal leave"), "sick": _l("Sick leave"),
                     "annual": _l("Annual leave"), "other": _l("Other leave")}
# Review state of every record (visits, meetings, actions, ledger items).
RECORD_STATUS_LABELS = {"submitted": _l("Waiting for review"),  # 待审核
                        "returned": _l("Returned"),  # 已退回
                        "approved": _l("Approved")}  # 已通过
# A day mark's kind and the reason of a day away on reported official business (报备).
DAY_KIND_LABELS = {"present": _l("In the village"),  # 在村
                   "official": _l("Away on official business")}  # 因公外出（报备）
DAY_REASON_LABELS = {"meeting": _l("Meeting"), "training": _l("Training"),  # 会议, 培训
                     "project": _l("Project"), "other": _l("Other")}  # 项目, 其他
# How a day of the attendance sheet counts.
DAY_STATE_LABELS = {"records": _l("In village (records)"),  # 在村（有记录）
                    "marked": _l("In village (marked)"),  # 在村（标记）
                    "official": DAY_KIND_LABELS["official"], "leave": _l("Leave")}  # 请假

_KIND_LABELS = {"meeting": MEETING_TYPE_LABELS, "action": ACTION_TYPE_LABELS,
                "goal": GOAL_TYPE_LABELS}


def record_title(record_type: str, title: str | None, kind: str | None,
                 occurred_at: datetime | date | None) -> str:
    """Return what a record is called: its title, or else its type and local date.

    Every page that names a meeting, action or goal goes through here, so an untitled one never
    shows as a blank or a dash ("支委会 · 2026年11月3日").
    """
    if title and title.strip():
        return title.strip()
    label = _KIND_LABELS.get(record_type, {}).get(kind or "")
    bits = [str(label) if label else (kind or "")]
    if occurred_at is not None:
        bits.append(format_date(occurred_at, "medium"))
    return " · ".join(b for b in bits if b) or "—"


# Why a photo could not be processed (`photos.failure`), in the user's words: the record's
# page and the phone's list of failed photos say the same.
PHOTO_FAILURE_LABELS = {
    "corrupt_image": _l("The file is damaged or incomplete."),
    "too_many_pixels": _l("The photo has too many pixels to process."),
}
OTHER_PHOTO_FAILURE = _l("The file is not a photo that can be shown.")


def photo_failure_label(code: str | None) -> str:
    """Return the words for a photo's failure code (any unknown code: not a showable photo)."""
    return str(PHOTO_FAILURE_LABELS.get(code or "", OTHER_PHOTO_FAILURE))
