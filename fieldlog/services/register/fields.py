"""A household's fields: the register's column names, the categories, and checking a household.

Shared by the file import, the export and the edit form: one set of column names and category
spellings, one check of a household's values given as text.
"""
import re

from flask_babel import gettext as _

from fieldlog.domain import SANHU, SANLAO, TAGS

MEMBERS_MIN, MEMBERS_MAX = 1, 30

# Column → accepted header spellings (compared without spaces and "*" marks).
HEADERS = {
    "head_name": ("户主姓名", "户主", "姓名", "户主名", "户主名字"),
    "house_label": ("门牌号", "门牌", "户号", "住址门牌", "门牌号码"),
    "member_count": ("家庭人口", "人口", "家庭人数", "人数", "家庭人口数"),
    "phone": ("联系电话", "电话", "手机", "手机号", "手机号码", "电话号码"),
    "tags": ("类别", "户类别", "标签", "类型", "户类型"),
    "lon": ("经度",),
    "lat": ("纬度",),
}
COLUMN_NAMES = {key: names[0] for key, names in HEADERS.items()}
REQUIRED = ("head_name", "house_label")
TAG_NAMES = {
    "老党员": "old_party_member", "老干部": "retired_cadre", "老模范": "model_worker",
    "困难户": "hardship", "富裕户": "well_off", "上访户": "petitioner",
    "五保户": "five_guarantees", "低保户": "low_income", "脱贫监测户": "monitored",
    "监测户": "monitored", "残疾人户": "disability", "残疾户": "disability",
    "留守老人": "left_behind_elderly", "留守儿童": "left_behind_children",
}
TAG_CHINESE = {code: name for name, code in reversed(list(TAG_NAMES.items()))}
GROUPS = {"三老": SANLAO, "三户": SANHU}
TAG_SPLIT = re.compile(r"[、,，/;；\s]+")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def _tags(text: str, errors: list) -> list[str]:
    codes: list[str] = []
    for name in (n for n in TAG_SPLIT.split(text) if n):
        if name in GROUPS:
            errors.append(_("%(group)s is a group, not a category: write %(members)s.",
                            group=name,
                            members="、".join(TAG_CHINESE[c] for c in GROUPS[name])))
            continue
        code = TAG_NAMES.get(name) or (name if name in TAGS else None)
        if code is None:
            errors.append(_("Unknown category %(name)s; allowed: %(allowed)s.", name=name,
                            allowed="、".join(TAG_CHINESE[c] for c in TAGS)))
        elif code not in codes:
            codes.append(code)
    return sorted(codes)


def _number(text: str, low: float, high: float, errors: list, message: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high or value != value:
        errors.append(message)
        return None
    return value


def check_household(cells: dict[str, str], *,
                    masked_ok: bool = False) -> tuple[dict, dict[str, list[str]]]:
    """Validate one household's fields as text; return (values, errors by column key).

    With `masked_ok`, a masked number (138****5678) passes as it is: the import checks it
    against the number on file.
    """
    errors: dict[str, list[str]] = {}

    def fail(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    name, label = cells.get("head_name", ""), cells.get("house_label", "")
    if not name:
        fail("head_name", _("The head of household's name is missing."))
    elif len(name) > 40:
        fail("head_name", _("The name is longer than 40 characters."))
    if not label:
        fail("house_label", _("The house number is missing."))
    elif len(label) > 40:
        fail("house_label", _("The house number is longer than 40 characters."))
    members = cells.get("member_count", "") or "1"
    try:
        member_count = int(float(members)) if float(members).is_integer() else -1
    except ValueError:
        member_count = -1
    if not MEMBERS_MIN <= member_count <= MEMBERS_MAX:
        fail("member_count", _("Household size must be a whole number from %(a)s to %(b)s.",
                               a=MEMBERS_MIN, b=MEMBERS_MAX))
    phone = re.sub(r"[\s()（）]", "", cells.get("phone", ""))
    if phone.startswith("+86"):
        phone = phone[3:]
    masked = masked_ok and "*" in phone and re.fullmatch(r"[\d*-]{4,20}", phone)
    if phone and not masked and not (MOBILE.match(phone) or LANDLINE.match(phone)):
        fail("phone", _("%(phone)s is not a mobile number (11 digits, 1[3-9]…) or a landline "
                        "such as 0851-12345678.", phone=phone))
    tag_errors: list[str] = []
    tags = _tags(cells.get("tags", ""), tag_errors)
    for message in tag_errors:
        fail("tags", message)
    lat = _number(cells.get("lat", ""), -90, 90, errors.setdefault("lat", []),
                  _("Latitude must be a number from -90 to 90 (WGS-84)."))
    lon = _number(cells.get("lon", ""), -180, 180, errors.setdefault("lon", []),
                  _("Longitude must be a number from -180 to 180 (WGS-84)."))
    if (lat is None) != (lon is None) and not errors["lat"] and not errors["lon"]:
        fail("lat", _("Give both longitude and latitude, or neither."))
    errors = {k: v for k, v in errors.items() if v}
    return {"head_name": name, "house_label": label, "member_count": member_count,
            "phone": phone or None, "tags": tags, "lat": lat, "lon": lon}, errors
