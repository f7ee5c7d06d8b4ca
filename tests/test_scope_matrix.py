"""Who may call what: every endpoint of the URL map × every role × own and foreign objects.

ACCESS below is the one table of who may call each endpoint. It is checked against
`app.url_map`, so an endpoint nobody classified fails the suite with a message saying how to
classify it, and so does an entry whose endpoint is gone. Then, for each role (secretary sec1,
supervisor sup_t1, inspector, admin, and anonymous) the test calls every method of every
endpoint, on an object in the role's scope ("own") and, where the role has one, on an object
outside it ("foreign"), and asserts:

- anonymous: a page redirects to sign-in, the API answers 401 in its JSON error shape;
- a role the endpoint is not for: 403;
- a foreign object: 404 (never 200, and nothing of the object in the answer);
- an own object: 2xx or 3xx;
- never a 5xx.

Objects: a visit and a photo by sec1 in V1 (own for sec1 and sup_t1; the inspector and the
admin see the whole county), a visit and a photo by sec3 in V3 (foreign for sec1 and sup_t1),
device tokens, spot-check samples and tasks drawn by the inspector and by the admin (each
other's are foreign), and check photos.
"""
import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from flask import url_for
from flask_babel import get_timezone
from PIL import Image
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import CheckTask, Flag
from fieldlog.permissions import REVIEWER_ROLES
from fieldlog.services.people.auth import issue_device_token
from tests.conftest import PASSWORD, csrf_token
from tests.test_meetings import matrix_objects as record_objects
from tests.test_photo_api import upload
from tests.test_sync_api import sync, visit_payload

ROLES = ("secretary", "supervisor", "inspector", "admin")
USERNAMES = {"secretary": "sec1", "supervisor": "sup_t1", "inspector": "inspector",
             "admin": "admin", None: None}
ACTORS = ("inspector", "admin")  # who works spot checks


def tiny_jpeg(colour: tuple[int, int, int] = (120, 160, 90)) -> bytes:
    """Return a small real JPEG (a photo the pipeline accepts)."""
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# --- How a request is made -------------------------------------------------------------


@dataclass
class Ctx:
    """What a request builder may use: the world, the objects, the role and the scope."""

    world: SimpleNamespace
    objects: dict
    role: str | None
    scope: str

    def obj(self, kind: str):
        return self.objects[kind][self.role][self.scope]

    @property
    def username(self) -> str:
        return USERNAMES[self.role] or "sec2"


Check = Callable[[object], str | None]  # returns a problem, or None when the answer is right


def status(*codes: int) -> Check:
    def check(response):
        if response.status_code not in codes:
            return f"expected {'/'.join(map(str, codes))}, got {response.status_code}"
        return None

    return check


def records_answered(*statuses: str) -> Check:
    """The sync endpoint answers 200 and says per record what became of it."""

    def check(response):
        if response.status_code != 200:
            return f"expected 200 with per-record answers, got {response.status_code}"
        got = [r["status"] for r in response.get_json()["results"]]
        return None if set(got) <= set(statuses) else f"records answered {got}, not {statuses}"

    return check


@dataclass(frozen=True)
class Access:
    """Who may call an endpoint, and how to call it.

    who:   "public" (anyone), "signed_in" (a page behind sign-in) or "api" (a device token or a
           session with the CSRF header; 401 JSON without).
    roles: the roles past the role gate; any other signed-in role gets 403.
    args:  URL argument → the kind of object it names ("visit", "photo", "device", "sample",
           "task", "cadre", "user", "check_photo.task"…) or "=literal" for a fixed value.
    uses:  kinds of object the request body names (so the foreign scope is tried too).
    body:  Ctx → keyword arguments for the request (form data or JSON) of a POST or PUT.
    expect: outcome ("ok", "denied", "foreign") → a check replacing the default one.
    ends_session: the call signs the client out or starts a new session.
    """

    who: str
    roles: tuple[str, ...] = ROLES
    args: dict[str, str] = field(default_factory=dict)
    uses: tuple[str, ...] = ()
    body: Callable[[Ctx], dict] | None = None
    expect: dict[str, Check] = field(default_factory=dict)
    ends_session: bool = False
    why: str = ""


PUBLIC = Access("public")
SIGNED_IN = Access("signed_in")
API = Access("api")


def page(*roles: str, **kwargs) -> Access:
    return Access("signed_in", roles=roles or ROLES, **kwargs)


def form(**values) -> Callable[[Ctx], dict]:
    """A form body; values may be callables of the Ctx."""
    return lambda ctx: {"data": {k: v(ctx) if callable(v) else v for k, v in values.items()}}


def _sync_body(ctx: Ctx) -> dict:
    return {"json": {"records": [visit_payload(ctx.obj("household"))]}}


def _photo_body(ctx: Ctx) -> dict:
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    boundary, data = encode_multipart({
        "file": FileStorage(io.BytesIO(tiny_jpeg((30, 90, 200))), "p.jpg"),
        "record_type": "visit", "record_id": ctx.obj("visit")})
    return {"data": data, "content_type": f"multipart/form-data; boundary={boundary}"}


def _draw_form(ctx: Ctx) -> dict:
    today = datetime.now(get_timezone()).date()
    return form(scope=ctx.world.county.id, start=(today - timedelta(days=7)).isoformat(),
                end=today.isoformat(), size=2, seed=7, flag_weight=3)(ctx)


def _register_upload(ctx: Ctx) -> dict:
    """A one-household register for V1, previewed (not imported: no "confirm")."""
    data = "户主姓名,门牌号\n新户主,9组9号\n".encode()
    return {"data": {"village": ctx.world.v1.id, "file": (io.BytesIO(data), "register.csv")}}


def _outbox_upload(ctx: Ctx) -> dict:
    """sec1's outbox file with one visit, previewed."""
    from fieldlog.extensions import db
    from fieldlog.models import User
    from tests.test_outbox_file import outbox_file

    sec1 = db.session.scalar(select(User).where(User.username == "sec1"))
    data = outbox_file(sec1, [visit_payload(ctx.obj("household"))])
    return {"data": {"file": (io.BytesIO(data), "fieldlog-outbox.json")}}


def _tree_upload(ctx: Ctx) -> dict:
    """A one-village tree file, previewed (not imported: no "confirm")."""
    data = "乡镇,村,村代码,中心纬度,中心经度\n东岭镇,北堡村,520000000001,26.58,106.71\n".encode()
    return {"data": {"file": (io.BytesIO(data), "tree.csv")}}


def _boundary_upload(ctx: Ctx) -> dict:
    """A GeoJSON square around V1's centre, previewed (not stored: no "confirm")."""
    ring = [[106.70, 26.57], [106.72, 26.57], [106.72, 26.59], [106.70, 26.59], [106.70, 26.57]]
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "code": "V1"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    return {"data": {"file": (io.BytesIO(json.dumps(doc).encode()), "b.geojson")}}


def _cadre_upload(ctx: Ctx) -> dict:
    """A one-cadre list, previewed (not imported: no "confirm")."""
    from tests.test_cadre_import import xlsx

    data = xlsx([["矩阵", "13955550001", "县财政局", "工作队员", "V2", "2026-03-01", ""]])
    return {"data": {"file": (io.BytesIO(data), "cadres.xlsx")}}


# --- The table -------------------------------------------------------------------------

ACCESS: dict[str, Access] = {
    # Sign-in, language and the installable-app plumbing: anyone.
    "auth.index": PUBLIC,
    "auth.login": Access("public", body=lambda ctx: {"data": {
        "username": ctx.username, "password": PASSWORD}}, ends_session=True),
    "auth.logout": Access("signed_in", body=form(), ends_session=True),
    "auth.set_language": Access("public", args={"code": "=en"}),
    "pwa.health": PUBLIC,
    "pwa.manifest": PUBLIC,
    "pwa.offline": PUBLIC,
    "pwa.service_worker": PUBLIC,
    "static": Access("public", args={"filename": "=css/app.css"}),
    # The secretary's phone pages.
    "mobile.home": page("secretary"),
    "mobile.households": page("secretary"),
    "mobile.new_visit": page("secretary"),
    "mobile.outbox": page("secretary"),
    # Meetings, six-one actions and five-one goals: the secretary's phone pages and edit page
    # (own records only); read pages for anyone whose scope holds the record.
    "records.meetings": page("secretary"),
    "records.new_meeting": page("secretary"),
    "records.actions": page("secretary"),
    "records.new_action": page("secretary"),
    "records.new_goal": page("secretary"),
    "records.edit": page("secretary", args={"record_type": "=action", "record_id": "action"}),
    "records.meeting_detail": page(args={"meeting_id": "meeting"}),
    "records.action_detail": page(args={"action_id": "action"}),
    "records.goal_detail": page(args={"goal_id": "goal"}),
    # The month (记实): a secretary's own on the phone; the printable monthly form of a cadre
    # (a secretary only their own, reviewers in scope) and of a township (reviewers in scope).
    "month.mobile": page("secretary"),
    "month.cadre_report": page(args={"cadre_id": "cadre", "period": "=2026-10"}),
    "month.township_report": page(*REVIEWER_ROLES, args={"township_id": "township",
                                                         "period": "=2026-10"}),
    # The household register: its keepers (the village's secretary, an admin in scope) read,
    # import, export and edit it; every role reads coverage of a village in scope. Without
    # ?village= a reviewer or an admin is shown the villages to choose from.
    "register.index": page("secretary", "admin"),
    "register.import_file": page("secretary", "admin", body=_register_upload),
    "register.export": page("secretary", "admin"),
    # The full register (phones, categories, positions): an admin, with a reason (audited).
    "register.export_full": page("admin", body=form(village=lambda ctx: ctx.world.v1.id,
                                                    reason="移交新一届村两委")),
    "register.edit": page("secretary", "admin", args={"household_id": "household_id"},
                          body=form(head_name="北堡村户主1", house_label="1组1号",
                                    member_count="3", tags="old_party_member")),
    "register.coverage": page(),
    # A household's full number: only the village's own secretary, with a reason (audited).
    "register.reveal_phone": page("secretary", args={"household_id": "household_id"},
                                  body=form(reason="回电说明诉求进展")),
    # Review: lists for reviewers; one visit and its photos for anyone whose scope holds the
    # visit (a secretary sees only their own).
    "review.visits": page(*REVIEWER_ROLES),
    "review.visits_export": page(*REVIEWER_ROLES),
    # The supervisors' map and its data (scoped inside: tests/test_mapdata.py).
    "mapview.index": page(*REVIEWER_ROLES),
    "mapview.data": page(*REVIEWER_ROLES),
    "review.visit": page(args={"visit_id": "visit"}),
    "review.photo": page(args={"photo_id": "photo", "size": "=thumb"}),
    # The review loop: reviewers read the queue; supervisors and admins decide (inspectors
    # are read-only); anyone whose scope holds a record reads its history.
    "review.queue": page(*REVIEWER_ROLES),
    "review.decide": page("supervisor", "admin", args={"record_type": "=visit",
                                                       "record_id": "visit"},
                          body=form(decision="approve", version="1")),
    "review.bulk_approve": page("supervisor", "admin", uses=("visit",),
                                body=lambda ctx: form(item=f"visit:{ctx.obj('visit')}:1")(ctx),
                                expect={"foreign": status(303)},
                                why="a record outside scope is skipped and reported, not 404"),
    "review.history": page(args={"record_type": "=visit", "record_id": "visit"}),
    # The secretary's returned records and the visit edit page (own records only).
    "mobile_review.returned": page("secretary"),
    "mobile_review.returned_json": page("secretary"),
    "mobile_review.edit_visit": page("secretary", args={"visit_id": "visit"}),
    # The villagers' issue ledger: the secretary's village on the phone; reviewers in scope on
    # the web, where supervisors and admins change items (inspectors read).
    "ledger.mobile_list": page("secretary"),
    "ledger.mobile_json": page("secretary"),
    "ledger.mobile_new": page("secretary"),
    "ledger.mobile_item": page("secretary", args={"item_id": "ledger_item"}),
    "ledger.index": page(*REVIEWER_ROLES),
    "ledger.item": page(*REVIEWER_ROLES, args={"item_id": "ledger_item"}),
    "ledger.change": page("supervisor", "admin", args={"item_id": "ledger_item"},
                          body=form(note="已电话督办")),
    # The signed-in user's own account.
    "account.index": SIGNED_IN,
    "account.password": page(body=form(current_password="not-my-password",
                                       new_password="x", confirm_password="x"),
                             expect={"ok": status(200, 422)},
                             why="a wrong current password: the form answers 422"),
    "account.revoke": page(args={"device_id": "device"}, body=form()),
    "account.everywhere": page(body=form(), ends_session=True),
    # Administration.
    "admin.users": page("admin"),
    "admin.reset": page("admin", args={"user_id": "user"}, body=form()),
    "admin.unlock_user": page("admin", args={"user_id": "user"}, body=form()),
    "admin.user_new": page("admin", body=form(
        username="matrix_new", display_name="矩阵", phone="13955550000", role="supervisor",
        scope_unit_id=lambda ctx: ctx.world.t1.id, locale="")),
    "admin.user_edit": page("admin", args={"user_id": "user"}, body=form(
        display_name="SEC2", phone="13955550002", role="secretary",
        scope_unit_id=lambda ctx: ctx.world.v2.id, locale="")),
    "admin.user_deactivate": page("admin", args={"user_id": "user"}, body=form()),
    "admin.user_reactivate": page("admin", args={"user_id": "user"}, body=form()),
    "admin.term_start": page("admin", args={"user_id": "user"}, body=form(
        village_id=lambda ctx: ctx.world.v2.id, start="2030-01-01", end="",
        dispatching_unit="县财政局", post="team_member"),
                             expect={"ok": status(200, 302, 422)},
                             why="a clash with the cadre's running term answers 422"),
    "admin.term_end": page("admin", args={"user_id": "user"}, body=form(term_id="0", end=""),
                           expect={"ok": status(422)}, why="no such term: the form answers 422"),
    "admin.term_move": page("admin", args={"user_id": "user"}, body=form(
        village_id=lambda ctx: ctx.world.v2.id, start="2030-01-01", end="",
        dispatching_unit="县财政局", post="team_member"),
                            expect={"ok": status(422)},
                            why="a move into the cadre's own village answers 422"),
    "admin.teams": page("admin"),
    "admin.cadre_import": page("admin", body=_cadre_upload,
                               expect={"ok": status(200, 422)},
                               why="the preview answers 422 when the file has row errors"),
    "admin.audit_log": page("admin"),
    "admin.audit_verify": page("admin", body=form()),
    "admin.audit_export": page("admin"),
    # A phone's outbox file, previewed (not imported: no "confirm"); the admin's scope is the
    # county, so sec1's file is in it (tests/test_outbox_file.py refuses a foreign author).
    "admin.outbox_import": page("admin"),
    "admin.outbox_import_file": page("admin", body=_outbox_upload),
    # The org tree: admins only, inside their own unit (tests/test_org_admin.py tries another
    # county). The forms are sent valid but change nothing harmful: T1 keeps its name and
    # code, cannot be retired or deleted while villages are in use below it; files are
    # previewed, never imported (no "confirm").
    "admin.org_tree": page("admin"),
    "admin.org_new": page("admin", body=form(
        parent=lambda ctx: ctx.world.t1.id, name="新村", code="520000000999", lat="26.6",
        lon="106.7", geofence_m="800")),
    "admin.org_edit": page("admin", args={"unit_id": "org_unit"},
                           body=form(name="东岭镇", code="T1")),
    "admin.org_move": page("admin", args={"unit_id": "org_unit"},
                           body=form(parent=lambda ctx: ctx.world.county.id)),
    "admin.org_state": page("admin", args={"unit_id": "org_unit"}, body=form(action="retire")),
    "admin.org_import": page("admin", body=_tree_upload),
    "admin.org_export": page("admin"),
    "admin.org_boundaries": page("admin", body=_boundary_upload),
    # Failed background jobs (dead letters); a job ID nobody knows redirects with a message.
    "admin.jobs": page("admin"),
    "admin.retry_job": page("admin", args={"job_id": "=no-such-job"}, body=form()),
    "admin.discard_job": page("admin", args={"job_id": "=no-such-job"}, body=form()),
    # Inspection: inspectors and admins work their own samples; reviewers read the summary
    # and a done check's photos in scope.
    "inspect.index": page(*ACTORS),
    "inspect.draw": page(*ACTORS, body=_draw_form),
    "inspect.sample": page(*ACTORS, args={"sample_id": "sample"}),
    "inspect.task": page(*ACTORS, args={"task_id": "task"}),
    "inspect.method": page(*ACTORS, args={"task_id": "task"}, body=form(method="phone")),
    "inspect.reveal": page(*ACTORS, args={"task_id": "task"}, body=form()),
    "inspect.outcome": page(*ACTORS, args={"task_id": "task"},
                            body=form(method="phone", outcome="confirmed", notes="")),
    "inspect.check_photo": page(*REVIEWER_ROLES, args={
        "task_id": "check_photo.task", "photo_id": "check_photo.photo", "size": "=thumb"}),
    "inspect.presence": page(*ACTORS, args={"cadre_id": "cadre"}, body=form(
        answer_households="5", answer_industry="茶叶", answer_open_items="0",
        outcome="passed", notes="")),
    "inspect.summary": page(*REVIEWER_ROLES),
    # Progress of each cadre: reviewers only (no ranking of cadres on a secretary's phone);
    # a cadre outside the scope is a 404 (tests/test_progress.py).
    "progress.table": page(*REVIEWER_ROLES),
    "progress.cadre": page(*REVIEWER_ROLES, args={"cadre_id": "cadre"}),
    # Reviewers explain an integrity flag on a record in their scope.
    "flags.explain": page(*REVIEWER_ROLES, args={"flag_id": "flag"},
                          body=form(reason="已电话回访，户主确认")),
    # Attendance and leave: the cadre's phone pages; approvals by supervisors (the level whose
    # turn it is, in scope); the monthly sheet for reviewers; the county's settings for admins.
    "attendance.mobile": page("secretary"),
    "attendance.mark_day": page("secretary"),
    "attendance.leave_list": page("secretary"),
    "attendance.new_leave": page("secretary"),
    "attendance.approvals": page("supervisor"),
    "attendance.decide": page("supervisor", args={"leave_id": "leave"},
                              body=form(decision="approved", comment="")),
    "attendance.index": page(*REVIEWER_ROLES),
    "attendance.settings": page("admin", body=form(threshold="20", level_0="township",
                                                   from_0="1", level_1="county", from_1="4")),
    # The sync API.
    "api.openapi": PUBLIC,
    "api.login_device": Access("public", body=lambda ctx: {"json": {
        "username": ctx.username, "password": PASSWORD, "label": "matrix"}}),
    "api.me": API,
    "api.households": API,
    "api.failed_photos": Access("api", why="each caller hears of their own photos only"),
    "api.failed_photos_seen": Access(
        "api", body=lambda ctx: {"json": {"ids": [str(uuid.uuid4())]}},
        why="only the caller's own failed photos are marked; other IDs change nothing"),
    "api.register_device": Access("api", body=lambda ctx: {"json": {"label": "matrix"}}),
    "api.sync": Access("api", roles=("secretary",), uses=("household",), body=_sync_body,
                       expect={"ok": records_answered("stored"),
                               "denied": records_answered("forbidden"),
                               "foreign": records_answered("forbidden")},
                       why="one answer per record: a record outside scope is 'forbidden'"),
    "api.upload_photo": Access("api", roles=("secretary",), args={"photo_id": "new_uuid"},
                               uses=("visit",), body=_photo_body,
                               expect={"ok": status(201), "foreign": status(403)},
                               why="receive_photo answers 403 (not 404) for a visit of "
                                   "another author; the visit's UUID must already be known"),
    # The 千分制 assessment: reviewers read, supervisors and admins score by hand, admins edit
    # the county's rubric; secretaries never see scores.
    "scoring.index": page(*REVIEWER_ROLES),
    "scoring.cadre": page(*REVIEWER_ROLES, args={"cadre_id": "cadre"}),
    "scoring.manual": page("supervisor", "admin", args={"cadre_id": "cadre"},
                           body=form(item="evaluation", points="80", reason="群众评价较好")),
    "scoring.rubric": page("admin", body=lambda ctx: {"data": {"rubric": __import__(
        "json").dumps(__import__("fieldlog.services.org.settings", fromlist=["DEFAULTS"])
                      .DEFAULTS["scoring_rubric"])}}),
    # The handover list of a term (交接清单): supervisors and admins in scope, the outgoing and
    # the incoming cadre; inspectors are not its readers. Printing it is audited.
    "handover.page": page("secretary", "supervisor", "admin",
                          args={"assignment_id": "assignment"}),
    "handover.print_view": page("secretary", "supervisor", "admin",
                                args={"assignment_id": "assignment"}),
    # Office exports (XLSX/CSV) of the records in scope.
    "exports.index": page(*REVIEWER_ROLES),
    "exports.download": page(*REVIEWER_ROLES, args={"kind": "=work_ledger", "fmt": "=xlsx"}),
    "exports.record_form": page(*REVIEWER_ROLES, args={"cadre_id": "cadre", "fmt": "=csv"}),
}


# --- The URL map and the table agree ---------------------------------------------------


def _endpoints(app) -> dict[str, list]:
    rules: dict[str, list] = {}
    for rule in app.url_map.iter_rules():
        rules.setdefault(rule.endpoint, []).append(rule)
    return rules


def test_every_endpoint_is_classified(app):
    missing = sorted(set(_endpoints(app)) - set(ACCESS))
    assert not missing, (
        f"Endpoints not classified in tests/test_scope_matrix.py ACCESS: {missing}. Add each "
        "with who may call it (PUBLIC, SIGNED_IN, page(*roles), API), the kinds of object its "
        "URL arguments name, and a body for POST/PUT.")


def test_every_classified_endpoint_exists(app):
    stale = sorted(set(ACCESS) - set(_endpoints(app)))
    assert not stale, f"ACCESS names endpoints the app no longer has: {stale}; remove them."


def test_every_url_argument_is_described(app):
    undescribed = [f"{endpoint}: {sorted(rule.arguments - set(ACCESS[endpoint].args))}"
                   for endpoint, rules in _endpoints(app).items() if endpoint in ACCESS
                   for rule in rules if rule.arguments - set(ACCESS[endpoint].args)]
    assert not undescribed, f"URL arguments with no object kind or value in ACCESS: {undescribed}"


# --- The objects -----------------------------------------------------------------------


def _sample_with_done_tasks(actor, world) -> tuple[int, dict[int, CheckTask]]:
    """Draw a sample over the county for the last week; record each task with a photo."""
    from fieldlog.services.inspection.checks import record_outcome
    from fieldlog.services.inspection.sampling import draw_sample

    today = datetime.now(get_timezone()).date()
    sample = draw_sample(actor, world.county.id, today - timedelta(days=7), today, 2, seed=11)
    tasks = {t.village_id: t for t in db.session.scalars(
        select(CheckTask).where(CheckTask.sample_id == sample.id))}
    for n, task in enumerate(tasks.values()):
        record_outcome(actor, task.id, "site", "confirmed", "",
                       [tiny_jpeg((40 * n + 20, 100, 60 + actor.id))])
    return sample.id, tasks


def _check_photo(task: CheckTask) -> dict:
    from fieldlog.models import Photo
    from fieldlog.services.inspection.checks import check_photo_uuid

    photo = db.session.scalar(select(Photo).where(
        Photo.record_type == "check", Photo.record_id == check_photo_uuid(task.id)))
    return {"task_id": task.id, "photo_id": photo.id}


def _leave(device, sec) -> str:
    """A pending two-day leave request of `sec` (its township decides it)."""
    from tests.test_attendance import leave

    record = leave("2026-12-01", "2026-12-02")
    sync(device(sec), record)
    return record["id"]


def _term(sec) -> int:
    from fieldlog.models import Assignment

    return db.session.scalar(select(Assignment.id).where(Assignment.user_id == sec.id))


def _ledger_item(device, sec, household) -> str:
    """An open ledger item of `sec`'s village, raised by `household`."""
    from tests.test_ledger import item_payload

    record = item_payload(household)
    sync(device(sec), record)
    return record["id"]


@pytest.fixture
def objects(app, world, device) -> dict:
    return build_objects(world, device)


def build_objects(world, device) -> dict:
    """Build every kind of object; return kind → role → {"own": …, "foreign": … or None}."""
    made = {}
    for key, sec, household in (("own", world.sec1, world.h1[0]),
                                ("foreign", world.sec3, world.h3[0])):
        phone = device(sec)
        record = visit_payload(household, occurred_at=(
            datetime.now(get_timezone()) - timedelta(minutes=5)).isoformat())
        sync(phone, record)
        response = upload(phone, tiny_jpeg((200, 40 if key == "own" else 140, 40)),
                          record_id=record["id"])
        assert response.status_code == 201, response.get_json()
        # A visit recorded hundreds of kilometres from its village: a flag to explain.
        far = visit_payload(household, location={"lat": 30.0, "lon": 110.0, "accuracy_m": 10})
        sync(phone, far)
        flag = db.session.scalar(select(Flag.id).where(Flag.record_id == far["id"]))
        assert flag is not None, "a visit far from its village got no integrity flag"
        made[key] = SimpleNamespace(visit=record["id"], photo=response.get_json()["id"],
                                    household=household, flag=flag)
    users = {role: getattr(world, USERNAMES[role]) for role in ROLES}
    foreign_device = issue_device_token(world.sec3, "sec3's phone")[0].id
    samples, tasks = {}, {}
    for role in ACTORS:
        samples[role], tasks[role] = _sample_with_done_tasks(users[role], world)

    def table(own, foreign_for=(), foreign=None, **per_role) -> dict:
        return {role: {"own": per_role.get(role, own),
                       "foreign": foreign if role in foreign_for else None}
                for role in (*ROLES, None)}

    local = ("secretary", "supervisor")  # the roles whose scope is narrower than the county
    inspector_v1, admin_v1 = tasks["inspector"][world.v1.id], tasks["admin"][world.v1.id]
    return {
        "visit": table(made["own"].visit, local, made["foreign"].visit),
        "photo": table(made["own"].photo, local, made["foreign"].photo),
        "household": table(made["own"].household, local, made["foreign"].household),
        "household_id": table(made["own"].household.id, local, made["foreign"].household.id),
        "flag": table(made["own"].flag, local, made["foreign"].flag),
        "device": {role: {"own": issue_device_token(users[role], "own")[0].id if role else
                          foreign_device, "foreign": foreign_device if role else None}
                   for role in (*ROLES, None)},
        "user": table(world.sec2.id),
        "cadre": table(world.sec1.id),
        # sec1's term in V1 (own: sec1 is its cadre), sec3's in V3 (foreign to sec1, sup_t1).
        "assignment": table(_term(world.sec1), local, _term(world.sec3)),
        "township": table(world.t1.id, ("supervisor",), world.t2.id),
        "org_unit": table(world.t1.id),
        # Each actor's own samples and tasks; the other actor's are foreign.
        "sample": {**table(samples["inspector"], ("inspector",), samples["admin"]),
                   "admin": {"own": samples["admin"], "foreign": samples["inspector"]}},
        "task": {**table(inspector_v1.id, ("inspector",), admin_v1.id),
                 "admin": {"own": admin_v1.id, "foreign": inspector_v1.id}},
        # A done check's photos: its inspector, and reviewers whose scope holds the village.
        "check_photo": {**table(_check_photo(inspector_v1), ("supervisor",),
                                _check_photo(tasks["inspector"][world.v3.id])),
                        "admin": {"own": _check_photo(admin_v1), "foreign": None}},
        "leave": table(_leave(device, world.sec1), local, _leave(device, world.sec3)),
        "ledger_item": table(_ledger_item(device, world.sec1, world.h1[0]), local,
                             _ledger_item(device, world.sec3, world.h3[0])),
        **record_objects(world, device, table, local),  # meeting, action, goal
        "new_uuid": {role: {"own": None, "foreign": None} for role in (*ROLES, None)},
    }


# --- The matrix ------------------------------------------------------------------------


def _url(app, endpoint: str, rule, ctx: Ctx) -> str:
    values = {}
    for arg in rule.arguments:
        spec = ACCESS[endpoint].args[arg]
        if spec.startswith("="):
            values[arg] = spec[1:]
        elif spec == "new_uuid":
            values[arg] = str(uuid.uuid4())
        else:
            kind = spec.split(".")[0]
            value = ctx.obj(kind)
            values[arg] = value[arg] if isinstance(value, dict) else value
    with app.test_request_context():
        return url_for(endpoint, **values)


def _kinds(access: Access) -> set[str]:
    return {spec.split(".")[0] for spec in access.args.values() if not spec.startswith("=")} \
        | set(access.uses)


def _outcome(access: Access, role: str | None, scope: str) -> str:
    if access.who == "public":
        return "ok"
    if role is None:
        return "anonymous"
    if role not in access.roles:
        return "denied"
    return "foreign" if scope == "foreign" else "ok"


def _default_check(access: Access, outcome: str) -> Check:
    if outcome == "anonymous" and access.who == "api":
        def check(response):
            body = response.get_json(silent=True) or {}
            if response.status_code != 401 or body.get("error") != "unauthorized":
                return f"expected 401 JSON 'unauthorized', got {response.status_code} {body}"
            return None
        return check
    if outcome == "anonymous":
        def check(response):
            location = response.headers.get("Location", "")
            if response.status_code != 302 or "/login" not in location:
                return f"expected a redirect to sign in, got {response.status_code} {location}"
            return None
        return check
    if outcome == "denied":
        return status(403)
    if outcome == "foreign":
        return status(404)
    return lambda r: None if 200 <= r.status_code < 400 else f"expected 2xx/3xx, got " \
        f"{r.status_code}: {r.body[:200]!r}"


def _secrets(world) -> list[str]:
    """Facts of the households behind the objects; an answer that refuses shows none."""
    return [world.h1[0].head_name, world.h1[0].phone, world.h3[0].head_name, world.h3[0].phone]


class Caller:
    """Sends the matrix's requests as one role: a signed-in session, and a device token."""

    def __init__(self, app, world, role: str | None):
        self.app, self.world, self.role = app, world, role
        self.client = app.test_client()
        self.csrf = None
        self.bearer = None
        if role:
            self.sign_in()
            self.bearer = issue_device_token(getattr(world, USERNAMES[role]), "matrix")[1]

    def sign_in(self) -> None:
        self.client = self.app.test_client()
        token = csrf_token(self.client)
        response = self.client.post("/login", data={
            "username": USERNAMES[self.role], "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, f"{self.role} could not sign in"
        self.csrf = csrf_token(self.client)

    def modes(self, access: Access) -> list[str]:
        """API endpoints are tried with the session and with the device token."""
        return ["session", "bearer"] if access.who == "api" and self.role else ["session"]

    def send(self, method: str, url: str, access: Access, ctx: Ctx, mode: str):
        kwargs = access.body(ctx) if (access.body and method in ("POST", "PUT")) else {}
        headers = {}
        client = self.client if self.role else self.app.test_client()
        if mode == "bearer":
            client = self.app.test_client()
            headers["Authorization"] = f"Bearer {self.bearer}"
        elif method in ("POST", "PUT") and not url.startswith("/api/"):
            token = self.csrf if self.role else csrf_token(client)
            if "data" in kwargs and isinstance(kwargs["data"], dict):
                kwargs["data"] = {**kwargs["data"], "csrf_token": token}
            elif "data" not in kwargs:
                kwargs["data"] = {"csrf_token": token}
        elif method in ("POST", "PUT") and self.role:
            headers["X-CSRFToken"] = self.csrf
        if method in ("POST", "PUT") and url.startswith("/api/") and not kwargs:
            kwargs["json"] = {}
        response = client.open(url, method=method, headers=headers, **kwargs)
        # Read streamed answers (CSV, images) before closing; images are not text.
        response.body = response.get_data().decode("utf-8", "replace")
        response.close()
        return response


def _order(endpoints) -> list[str]:
    """Calls that end the session go last, so the others run signed in.

    Endpoints missing from ACCESS are left to test_every_endpoint_is_classified.
    """
    return sorted((e for e in endpoints if e in ACCESS),
                  key=lambda e: (ACCESS[e].ends_session, e))


@pytest.mark.parametrize("role", [*ROLES, None], ids=[*ROLES, "anonymous"])
def test_access_matrix(app, world, objects, role):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is a 500 to report, not a stop
    caller = Caller(app, world, role)
    secrets = _secrets(world)
    problems = []
    rules = _endpoints(app)
    for endpoint in _order(rules):
        access = ACCESS[endpoint]
        scopes = ["own"] + (["foreign"] if any(
            objects[kind][role]["foreign"] is not None for kind in _kinds(access)) else [])
        for rule in rules[endpoint]:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for scope in scopes:
                    for mode in caller.modes(access):
                        ctx = Ctx(world, objects, role, scope)
                        url = _url(app, endpoint, rule, ctx)
                        response = caller.send(method, url, access, ctx, mode)
                        outcome = _outcome(access, role, scope)
                        check = access.expect.get(outcome) or _default_check(access, outcome)
                        where = (f"{endpoint} {method} {url} as {role or 'anonymous'} "
                                 f"({scope} scope, {mode})")
                        problem = (f"server error {response.status_code}"
                                   if response.status_code >= 500 else check(response))
                        if not problem and outcome != "ok" and any(
                                s in response.body for s in secrets):
                            problem = "the refusal shows a household's name or phone"
                        if problem:
                            problems.append(f"{where}: {problem}")
                        if access.ends_session and role and mode == "session":
                            caller.sign_in()
    assert not problems, "\n".join(problems)
