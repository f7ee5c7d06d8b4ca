"""Vocabulary of the domain: household tags and their groups (访三老、走三户)."""
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
