"""The household register (户籍台账): import from XLSX/CSV, export as XLSX, edit a household.

An import is all or nothing: the file is parsed and checked in full, and only a file without
a single error is written, in one transaction, updating households by 门牌号 (house label).
A column the file does not have leaves the stored value alone, and a masked number that
matches the one on file keeps it: the default (masked) export comes back unchanged.

The default export is masked (docs/security.md): phones as 138****5678, no categories (they
say who is poor, disabled, petitioning or left behind) and no position (it is a home). The
full register is a separate export for administrators, with a stated reason, audited.
"""
import io
import re
import uuid
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, insert, select, update

from fieldlog.domain import SANHU, SANLAO, TAGS
from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import Household, HouseholdTag, OrgUnit, User
from fieldlog.permissions import unit_in_scope
from fieldlog.services.common import spreadsheets as guard
from fieldlog.services.people.audit import record
from fieldlog.services.people.privacy import REASON_MAX, mask_phone
from fieldlog.services.reporting.visit_exports import _cell, marking

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MEMBERS_MIN, MEMBERS_MAX = 1, 30
HEADER_SCAN_ROWS = 5  # the header may follow a title or a marking row
LIMITS = guard.Limits(max_bytes=MAX_BYTES, max_rows=MAX_ROWS + HEADER_SCAN_ROWS + 1)

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
_FORMULA_START = ("=", "+", "-", "@")


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("Row %(row)s, %(column)s: %(message)s", row=self.row, column=self.column,
                 message=self.message)


@dataclass
class RegisterRow:
    row: int
    head_name: str
    house_label: str
    member_count: int
    phone: str | None
    tags: list[str]
    lat: float | None
    lon: float | None
    action: str = "new"  # new | update | unchanged (set by preview_register)
    household_id: str | None = None


@dataclass
class Preview:
    rows: list[RegisterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    columns: set[str] = field(default_factory=lambda: set(HEADERS))  # those the file has

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


@dataclass
class ImportResult:
    created: int
    updated: int
    unchanged: int


def _norm_header(value) -> str:
    return re.sub(r"[\s*＊:：]|（必填）|\(必填\)", "", str(value or ""))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    # Our own export guards formula-like cells with a quote; take it off again.
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        text = text[1:]
    return text


def _too_many_rows() -> Invalid:
    return Invalid(_("The file has more than %(n)s rows; split the register into several "
                     "files.", n=MAX_ROWS), code="too_many_rows")


def _bounded(rows) -> list:
    """Collect the rows the guard lets through; its row limit speaks as the register's."""
    try:
        return list(rows)
    except Invalid as exc:
        if exc.code == "too_many_rows":
            raise _too_many_rows() from exc
        raise


def _read_xlsx(data: bytes) -> list[tuple]:
    return _bounded(guard.iter_xlsx_rows(data, LIMITS))


def _read_csv(data: bytes) -> list[list[str]]:
    if b"\x00" in data[:4096]:
        raise guard.unreadable()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise guard.unreadable()
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text[:4096]):
        raise guard.unreadable()
    return _bounded(guard.iter_csv_rows(text, LIMITS))


def _find_header(rows: list) -> tuple[int, dict[str, int]]:
    """Return (index of the header row, column key → position); Invalid if none fits."""
    lookup = {name: key for key, names in HEADERS.items() for name in names}
    best: dict[str, int] = {}
    for index, values in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        for position, value in enumerate(values or ()):
            key = lookup.get(_norm_header(value))
            if key and key in columns:
                raise Invalid(_("The column %(name)s appears twice in the header.",
                                name=COLUMN_NAMES[key]), code="bad_header")
            if key:
                columns[key] = position
        if all(key in columns for key in REQUIRED):
            return index, columns
        if len(columns) > len(best):
            best = columns
    missing = [k for k in REQUIRED if k not in best]
    names = "; ".join(f"{COLUMN_NAMES[k]} ({'/'.join(HEADERS[k][1:])})" for k in missing)
    raise Invalid(_("The header row lacks required columns: %(names)s. The first row must "
                    "name the columns, e.g. 户主姓名, 门牌号, 家庭人口, 联系电话, 类别.",
                    names=names), code="bad_header")


def parse_register(data: bytes, filename: str = "") -> Preview:
    """Parse an XLSX or CSV register; file-level problems raise Invalid, row problems are listed."""
    if not data or not data.strip():
        raise Invalid(_("The file is empty."), code="empty")
    if len(data) > MAX_BYTES:
        raise Invalid(_("The file is larger than %(mb)s MB; split the register into several "
                        "files.", mb=MAX_BYTES // (1024 * 1024)), code="too_large")
    if guard.is_zip(data):
        rows = _read_xlsx(data)
    else:
        rows = _read_csv(data)
    rows = [r for r in rows if r is not None]
    if not any(any(_text(v) for v in r) for r in rows):
        raise Invalid(_("The file is empty."), code="empty")
    header_at, columns = _find_header(rows)
    body = rows[header_at + 1:]
    if len(body) > MAX_ROWS:
        raise _too_many_rows()
    preview, first_row_of = Preview(columns=set(columns)), {}
    for offset, values in enumerate(body):
        number = header_at + offset + 2  # the row number a spreadsheet shows
        cells = {key: _text(values[pos]) if pos < len(values) else ""
                 for key, pos in columns.items()}
        if not any(cells.values()):
            continue
        row = _check_row(number, cells, preview.errors, masked_ok=True)
        label = cells.get("house_label", "")
        if label in first_row_of:
            preview.errors.append(RowError(number, COLUMN_NAMES["house_label"], _(
                "%(label)s appears again (first in row %(first)s).", label=label,
                first=first_row_of[label])))
            continue
        if label:
            first_row_of[label] = number
        if row is not None:
            preview.rows.append(row)
    if not preview.rows and not preview.errors:
        raise Invalid(_("The file has a header but no households."), code="empty")
    return preview


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


def _check_row(number: int, cells: dict, errors: list[RowError], *,
               masked_ok: bool = False) -> RegisterRow | None:
    values, problems = check_household(cells, masked_ok=masked_ok)
    for key, messages in problems.items():
        errors.extend(RowError(number, COLUMN_NAMES[key], m) for m in messages)
    return None if problems else RegisterRow(number, **values)


def _village_for_import(user: User, village_id: int) -> OrgUnit:
    village = db.session.get(OrgUnit, village_id)
    if village is None or village.kind != "village" or not unit_in_scope(user, village):
        raise NotFound(_("No such village in your scope."))
    if user.role == "admin" or (user.role == "secretary" and user.scope_unit_id == village.id):
        return village
    raise Forbidden(_("Only the village's secretary or an administrator may change its "
                      "register."))


STATE = ("head_name", "member_count", "phone", "tags", "lat", "lon")


def _state(h: Household) -> tuple:
    return (h.head_name, h.member_count, h.phone, sorted(h.tags), h.lat, h.lon)


def _keep_what_the_file_lacks(row: RegisterRow, household: Household | None,
                              columns: set[str]) -> str | None:
    """Fill a row's missing columns and masked phone from the household on file.

    Return an error message when a masked number does not stand for the one on file.
    """
    if household is not None:
        for key in ("member_count", "phone"):
            if key not in columns:
                setattr(row, key, getattr(household, key))
        if "tags" not in columns:
            row.tags = sorted(household.tags)
        if "lat" not in columns or "lon" not in columns:
            row.lat, row.lon = household.lat, household.lon
    if row.phone and "*" in row.phone:
        if household is None or mask_phone(household.phone) != row.phone:
            return _("%(phone)s is a masked number that is not the one on file: type the "
                     "full number, or leave the cell empty.", phone=row.phone)
        row.phone = household.phone
    return None


def _comparable(state: tuple) -> tuple:
    """Round coordinates to ~1 cm: a spreadsheet keeps 15 significant digits, not 17."""
    return tuple(round(v, 7) if isinstance(v, float) else v for v in state)


def preview_register(user: User, village_id: int, data: bytes, filename: str = "") -> Preview:
    """Parse a file for a village and mark each row as new, an update or unchanged."""
    _village_for_import(user, village_id)
    preview = parse_register(data, filename)
    existing = {h.house_label: h for h in db.session.scalars(
        select(Household).where(Household.village_id == village_id))}
    kept = []
    for row in preview.rows:
        household = existing.get(row.house_label)
        problem = _keep_what_the_file_lacks(row, household, preview.columns)
        if problem:
            preview.errors.append(RowError(row.row, COLUMN_NAMES["phone"], problem))
            continue
        kept.append(row)
        if household is not None:
            row.household_id = household.id
            same = _comparable(_state(household)) == _comparable(
                (row.head_name, row.member_count, row.phone, row.tags, row.lat, row.lon))
            row.action = "unchanged" if same else "update"
    preview.rows = kept
    return preview


def import_register(user: User, village_id: int, data: bytes, filename: str = "") -> ImportResult:
    """Import a whole file or nothing: Invalid lists every row error; audited and committed."""
    preview = preview_register(user, village_id, data, filename)
    if preview.errors:
        raise Invalid(ngettext("The file has %(num)s error; nothing was imported.",
                               "The file has %(num)s errors; nothing was imported.",
                               len(preview.errors)), code="register_errors",
                      fields={"rows": [str(e) for e in preview.errors]})
    new = [r for r in preview.rows if r.action == "new"]
    changed = [r for r in preview.rows if r.action == "update"]
    try:
        for row in new:
            row.household_id = str(uuid.uuid4())
        if new:
            db.session.execute(insert(Household), [
                {"id": r.household_id, "village_id": village_id, **_columns(r)} for r in new])
        if changed:
            db.session.execute(update(Household), [
                {"id": r.household_id, **_columns(r)} for r in changed])
            ids = [r.household_id for r in changed]
            for start in range(0, len(ids), 500):
                db.session.execute(delete(HouseholdTag).where(
                    HouseholdTag.household_id.in_(ids[start:start + 500])))
        tag_rows = [{"household_id": r.household_id, "tag": t} for r in new + changed
                    for t in r.tags]
        if tag_rows:
            db.session.execute(insert(HouseholdTag), tag_rows)
        result = ImportResult(len(new), len(changed), preview.count("unchanged"))
        record("register.import", actor=user, object_type="village", object_id=village_id,
               details={"created": result.created, "updated": result.updated,
                        "unchanged": result.unchanged, "filename": filename[:100]})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.expire_all()  # bulk statements bypass the identity map
    return result


def _columns(row: RegisterRow) -> dict:
    return {"head_name": row.head_name, "house_label": row.house_label,
            "member_count": row.member_count, "phone": row.phone, "lat": row.lat,
            "lon": row.lon}


MASKED_COLUMNS = ("head_name", "house_label", "member_count", "phone")
FULL_COLUMNS = ("head_name", "house_label", "member_count", "phone", "tags", "lon", "lat")


def export_register(user: User, village_id: int, *, full_reason: str | None = None) -> bytes:
    """Return the village's register as XLSX, marked as personal information; audited.

    By default phones are masked and categories and positions left out. With `full_reason`
    (administrators only) everything is exported, and the reason is kept in the audit trail.
    """
    from openpyxl import Workbook

    village = db.session.get(OrgUnit, village_id)
    if village is None or village.kind != "village" or not unit_in_scope(user, village):
        raise NotFound(_("No such village in your scope."))
    full = full_reason is not None
    if full:
        full_reason = full_reason.strip()
        if user.role != "admin":
            raise Forbidden(_("Only an administrator may export the full register."))
        if not full_reason or len(full_reason) > REASON_MAX:
            message = _("Say why the full register is needed (at most %(n)s characters).",
                        n=REASON_MAX)
            raise Invalid(message, fields={"reason": [message]})
    households = list(db.session.scalars(
        select(Household).where(Household.village_id == village_id,
                                Household.anonymised_at.is_(None))
        .order_by(Household.house_label)))
    details = {"rows": len(households), "masked": not full}
    if full:
        details["reason"] = full_reason
    record("export.register_full" if full else "export.register", actor=user,
           object_type="village", object_id=village_id, details=details)
    db.session.commit()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("户籍台账（含个人信息）")
    sheet.append([marking()])
    sheet.append([_("Full register, exported for: %(reason)s", reason=_cell(full_reason)) if full
                  else _("Phones masked; categories and positions not exported.")])
    columns = FULL_COLUMNS if full else MASKED_COLUMNS
    sheet.append([COLUMN_NAMES[k] for k in columns])
    for h in households:
        cells = {"head_name": _cell(h.head_name), "house_label": _cell(h.house_label),
                 "member_count": h.member_count,
                 "phone": _cell(h.phone or "") if full else mask_phone(h.phone),
                 "tags": "、".join(TAG_CHINESE[t] for t in h.tags if t in TAG_CHINESE),
                 "lon": h.lon, "lat": h.lat}
        sheet.append([cells[k] for k in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def editable_household(user: User, household_id: str) -> Household:
    """Return a household the user may edit (its village's secretary, or an admin in scope)."""
    household = db.session.get(Household, str(household_id))
    if household is None:
        raise NotFound(_("No such household in your scope."))
    _village_for_import(user, household.village_id)
    return household


def update_household(user: User, household_id: str, form) -> Household:
    """Change a household's fields, tags and location; Invalid with field errors; audited."""
    household = editable_household(user, household_id)
    cells = {k: (form.get(k) or "").strip() for k in
             ("head_name", "house_label", "member_count", "phone", "lat", "lon")}
    if not cells["phone"] and not form.get("clear_phone"):
        cells["phone"] = household.phone or ""  # the form never shows the number: blank keeps it
    unknown = [t for t in form.getlist("tags") if t not in TAGS]
    cells["tags"] = " ".join(t for t in form.getlist("tags") if t in TAGS)
    values, errors = check_household(cells)
    if unknown:
        errors.setdefault("tags", []).append(_("Unknown category."))
    taken = db.session.scalar(select(Household.id).where(
        Household.village_id == household.village_id,
        Household.house_label == values["house_label"], Household.id != household.id))
    if values["house_label"] and taken:
        errors.setdefault("house_label", []).append(
            _("Another household already has this house number."))
    if errors:
        raise Invalid(_("Please correct the marked fields."), fields=errors)
    names = ("head_name", "member_count", "phone", "tags", "lat", "lon")
    before = {"house_label": household.house_label,
              **dict(zip(names, _state(household), strict=True))}
    changed = sorted(k for k, v in values.items() if before[k] != v)
    for key in ("head_name", "house_label", "member_count", "phone", "lat", "lon"):
        setattr(household, key, values[key])
    if "tags" in changed:
        kept = [row for row in household.tag_rows if row.tag in values["tags"]]
        have = {row.tag for row in kept}
        household.tag_rows = kept + [HouseholdTag(tag=t) for t in values["tags"]
                                     if t not in have]
    record("household.update", actor=user, object_type="household", object_id=household.id,
           details={"fields": changed})
    db.session.commit()
    return household
