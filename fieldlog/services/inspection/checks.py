"""An inspector's work on a sample: the method, the callback number, the outcome, presence checks.

Inspectors never change a record: nothing here writes to a visit, only to the check task, the
presence check and the audit trail. The summary and the findings supervisors read live in
`fieldlog.services.inspection.findings` (re-exported here).
"""
import json
import re
import uuid
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import CheckTask, Flag, Household, OrgUnit, Photo, PresenceCheck, User
from fieldlog.models.base import utcnow
from fieldlog.permissions import REVIEWER_ROLES, unit_in_scope
from fieldlog.services.inspection.findings import (  # noqa: F401  (the public face of inspection)
    check_photo_uuid,
    findings_for_cadre,
    findings_for_records,
    integrity_summary,
)
from fieldlog.services.inspection.sampling import INSPECTOR_ROLES, translated
from fieldlog.services.integrity.rules import RETIRED_KINDS
from fieldlog.services.people import audit, privacy
from fieldlog.services.records.photos import PhotoRejected, process_photo
from fieldlog.services.records.visits import VisitDetail, visit_detail
from fieldlog.storage import photo_keys

METHODS = {"phone": _l("Phone callback"), "site": _l("Site visit"),
           "document": _l("Document check")}
OUTCOMES = {"confirmed": _l("Confirmed"), "not_as_recorded": _l("Not as recorded"),
            "unreachable": _l("Unreachable")}
PRESENCE_OUTCOMES = {"passed": _l("Knows the village"), "failed": _l("Does not know the village"),
                     "unreachable": _l("Unreachable")}
# Village-knowledge questions; an expected value is computed where the data holds one.
PRESENCE_QUESTIONS = {
    "households": _l("How many households are in the village register?"),
    "industry": _l("What is the village's main industry?"),
    "open_items": _l("How many items of the villagers' issue ledger are still open?"),
}
_ = translated  # messages people read are translated when there is a request
MAX_NOTES = 2000
MAX_ANSWER = 200
MAX_CHECK_PHOTOS = 6


def own_task(inspector: User, task_id: int) -> CheckTask:
    """Return a task of one of the inspector's own samples, still in scope; NotFound otherwise."""
    task = db.session.get(CheckTask, task_id)
    if task is None or task.sample.inspector_id != inspector.id \
            or inspector.role not in INSPECTOR_ROLES:
        raise NotFound("No such check task among your samples.")
    village = db.session.get(OrgUnit, task.village_id)
    if not unit_in_scope(inspector, village):
        raise NotFound("That check task's village is no longer in your scope.")
    return task


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise Invalid(_("Choose how the record was checked: phone callback, site visit or "
                        "document check."), fields={"method": ["unknown method"]})


def choose_method(inspector: User, task_id: int, method: str) -> CheckTask:
    """Set how a task will be checked (before its outcome is recorded); audit and commit."""
    _check_method(method)
    task = own_task(inspector, task_id)
    if task.outcome is not None:
        raise Invalid(_("The outcome is already recorded; record it again to change the "
                        "method."))
    previous, task.method = task.method, method
    audit.record("check.method", actor=inspector, object_type=task.record_type,
                 object_id=task.record_id,
                 details={"task_id": task.id, "method": method, "previous": previous})
    db.session.commit()
    return task


def reveal_phone_for_task(inspector: User, task_id: int) -> str:
    """Reveal the household's phone for a phone-callback task; every reveal is logged."""
    task = own_task(inspector, task_id)
    if task.method != "phone":
        raise Forbidden(_("A phone number is revealed only for a phone-callback task: choose "
                          "phone callback first."), code="not_phone_method")
    if not task.household_id:
        raise Invalid(_("This record names no household to call."))
    return privacy.reveal_household_phone(inspector, task.household_id,
                                          f"电话回访 抽查任务 #{task.id}", "callback")


def _clean_notes(notes: str | None) -> str:
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise Invalid(_("Notes can be at most %(n)s characters.", n=MAX_NOTES),
                      fields={"notes": [f"at most {MAX_NOTES} characters"]})
    return notes


def record_outcome(inspector: User, task_id: int, method: str, outcome: str, notes: str,
                   photos: list[bytes] | tuple = ()) -> CheckTask:
    """Record what the check found (and its photos); audit `check.outcome` and commit."""
    _check_method(method)
    if outcome not in OUTCOMES:
        raise Invalid(_("Choose the outcome: confirmed, not as recorded or unreachable."),
                      fields={"outcome": ["unknown outcome"]})
    notes = _clean_notes(notes)
    if outcome == "not_as_recorded" and not notes:
        raise Invalid(_("Say in the notes what was found to differ from the record."),
                      fields={"notes": ["required when the record is not as recorded"]})
    task = own_task(inspector, task_id)
    previous = {"method": task.method, "outcome": task.outcome} if task.outcome else None
    _add_photos(inspector, task, photos)
    task.method, task.outcome, task.notes = method, outcome, notes
    task.done_at, task.done_by_id = utcnow(), inspector.id
    audit.record("check.outcome", actor=inspector, object_type=task.record_type,
                 object_id=task.record_id,
                 details={"task_id": task.id, "sample_id": task.sample_id, "method": method,
                          "outcome": outcome, "notes_chars": len(notes),
                          "photos": len(photos), "previous": previous})
    db.session.commit()
    return task


def _add_photos(inspector: User, task: CheckTask, photos) -> None:
    """Process and store the check's photos; they are kept under the task, not the record."""
    photos = [data for data in photos if data]
    if not photos:
        return
    record_id = check_photo_uuid(task.id)
    attached = db.session.scalar(select(func.count()).where(
        Photo.record_type == "check", Photo.record_id == record_id))
    if attached + len(photos) > MAX_CHECK_PHOTOS:
        raise Invalid(_("A check can have at most %(n)s photos.", n=MAX_CHECK_PHOTOS),
                      fields={"photos": [f"at most {MAX_CHECK_PHOTOS}"]})
    processed = []
    for data in photos:
        try:
            processed.append(process_photo(
                data, max_bytes=current_app.config["MAX_PHOTO_BYTES"],
                max_pixels=current_app.config["MAX_PHOTO_PIXELS"]))
        except PhotoRejected as exc:
            raise Invalid(exc.message, code=exc.code, fields={"photos": [exc.message]}) from exc
    from fieldlog.services.records.uploads import photo_store

    store = photo_store()
    for item in processed:
        photo_id = str(uuid.uuid4())
        keys = photo_keys(photo_id)
        store.put(keys["original"], item.original, item.content_type)
        store.put(keys["display"], item.display, "image/jpeg")
        store.put(keys["thumb"], item.thumb, "image/jpeg")
        facts = item.facts
        db.session.add(Photo(
            id=photo_id, owner_id=inspector.id, record_type="check", record_id=record_id,
            content_type=item.content_type, byte_size=len(item.original), sha256=item.sha256,
            width=facts.width, height=facts.height, original_key=keys["original"],
            display_key=keys["display"], thumb_key=keys["thumb"], taken_at=facts.taken_at,
            lat=facts.lat, lon=facts.lon, facts_source="file" if facts.taken_at else None,
            camera_make=facts.camera_make, camera_model=facts.camera_model))


# ---------- presence checks ----------


@dataclass
class Question:
    key: str
    text: object  # a lazy translated string, rendered in the reader's language
    expected: int | str | None
    answer: str = ""
    correct: bool | None = None


@dataclass
class PresenceForm:
    cadre: User
    village: OrgUnit
    questions: list[Question] = field(default_factory=list)


def _cadre_in_scope(inspector: User, cadre_id: int) -> tuple[User, OrgUnit]:
    cadre = db.session.get(User, cadre_id)
    if cadre is None or cadre.role != "secretary" or cadre.scope_unit.kind != "village" \
            or not unit_in_scope(inspector, cadre.scope_unit):
        raise NotFound("No such cadre in your scope.")
    return cadre, cadre.scope_unit


def presence_form(inspector: User, cadre_id: int) -> PresenceForm:
    """Return the questions to ask a cadre, with the expected answer where the data knows it."""
    if inspector.role not in INSPECTOR_ROLES:
        raise Forbidden(_("Only inspectors make presence checks."))
    cadre, village = _cadre_in_scope(inspector, cadre_id)
    households = db.session.scalar(select(func.count()).select_from(Household).where(
        Household.village_id == village.id, Household.anonymised_at.is_(None)))
    # No main-industry field and no issue ledger exist yet: those questions carry no expectation.
    expected = {"households": households, "industry": None, "open_items": None}
    return PresenceForm(cadre, village, [Question(key, text, expected[key])
                                         for key, text in PRESENCE_QUESTIONS.items()])


def _judge(expected, answer: str) -> bool | None:
    """Judge a numeric answer: within 5% (at least 2) of the register counts as right."""
    if not isinstance(expected, int) or not answer:
        return None
    match = re.search(r"\d+", answer)
    if match is None:
        return False
    return abs(int(match.group()) - expected) <= max(2, round(expected * 0.05))


def record_presence_check(inspector: User, cadre_id: int, answers: dict[str, str], outcome: str,
                          notes: str) -> PresenceCheck:
    """Record the answers a cadre gave by phone and the inspector's verdict; audit and commit."""
    if outcome not in PRESENCE_OUTCOMES:
        raise Invalid(_("Choose the outcome of the presence check."),
                      fields={"outcome": ["unknown outcome"]})
    notes = _clean_notes(notes)
    form = presence_form(inspector, cadre_id)
    for question in form.questions:
        question.answer = (answers.get(question.key) or "").strip()
        if len(question.answer) > MAX_ANSWER:
            raise Invalid(_("An answer can be at most %(n)s characters.", n=MAX_ANSWER),
                          fields={question.key: [f"at most {MAX_ANSWER} characters"]})
        question.correct = _judge(question.expected, question.answer)
    if outcome != "unreachable" and not any(q.answer for q in form.questions):
        raise Invalid(_("Record at least one answer, or choose “unreachable”."))
    check = PresenceCheck(
        inspector_id=inspector.id, cadre_id=form.cadre.id, village_id=form.village.id,
        outcome=outcome, notes=notes,
        answers=json.dumps([{"question": q.key, "expected": q.expected, "answer": q.answer,
                             "correct": q.correct} for q in form.questions], ensure_ascii=False))
    db.session.add(check)
    db.session.flush()
    audit.record("presence.check", actor=inspector, object_type="user", object_id=form.cadre.id,
                 details={"presence_check_id": check.id, "outcome": outcome,
                          "answered": sum(bool(q.answer) for q in form.questions),
                          "correct": sum(q.correct is True for q in form.questions)})
    db.session.commit()
    return check


# ---------- reading a task ----------


@dataclass
class TaskPage:
    task: CheckTask
    detail: VisitDetail
    flags: list[Flag]
    photos: list[Photo]


def task_page(inspector: User, task_id: int) -> TaskPage:
    """Return a task with its record's facts and photos, its flags and the check's photos."""
    task = own_task(inspector, task_id)
    detail = visit_detail(inspector, task.record_id)
    flags = list(db.session.scalars(select(Flag).where(
        Flag.record_type == task.record_type, Flag.record_id == task.record_id,
        Flag.kind.not_in(RETIRED_KINDS)).order_by(Flag.kind)))
    photos = list(db.session.scalars(select(Photo).where(
        Photo.record_type == "check", Photo.record_id == check_photo_uuid(task.id))
        .order_by(Photo.received_at, Photo.id)))
    return TaskPage(task, detail, flags, photos)


def check_photo_for_viewer(user: User, task_id: int, photo_id: str) -> Photo:
    """Return a check's photo to its inspector, or to a reviewer in scope once the check is done."""
    task = db.session.get(CheckTask, task_id)
    photo = db.session.get(Photo, photo_id)
    if task is None or photo is None or photo.record_type != "check" \
            or str(photo.record_id) != check_photo_uuid(task.id):
        raise NotFound("No such photo.")
    if task.sample.inspector_id == user.id:
        return photo
    if user.role in REVIEWER_ROLES and task.done_at is not None \
            and unit_in_scope(user, db.session.get(OrgUnit, task.village_id)):
        return photo
    raise NotFound("No such photo.")
