"""The 千分制 assessment: item rules, rubric validation, manual scores, scope, pages."""
import copy
import json

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from fieldlog.errors import Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import AuditEntry, CountySetting, ManualScore
from fieldlog.services.org.settings import DEFAULTS
from fieldlog.services.reporting import scoring
from fieldlog.services.reporting.period import Period
from tests.test_sync_api import sync, visit_payload
from tests.test_sync_records import base, meeting

RUBRIC = DEFAULTS["scoring_rubric"]


def computed(metric: str, top: float = 100, **spec) -> dict:
    return {"code": "x", "label": {"zh": "测"}, "max": top,
            "computed": {"metric": metric, **spec}}


# --- pure rules ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "points"), [
    (None, 0), (0, 0), (5, 25), (10, 50), (20, 100), (40, 100), (-3, 0)])
def test_computed_items_are_linear_to_max_at_the_target_and_capped(value, points):
    assert scoring.item_points(computed("visits_per_month", target=20), value) == points


@pytest.mark.parametrize(("rate", "points"), [
    (0.0, 50), (0.05, 37.5), (0.1, 25), (0.2, 0), (0.6, 0)])
def test_returned_rate_scores_inversely_full_at_target_zero_at_zero_at(rate, points):
    item = computed("returned_rate", top=50, target=0.0, zero_at=0.2)
    assert scoring.item_points(item, rate) == points


@pytest.mark.parametrize(("total", "grade", "band"), [
    (1000, "优秀", 0), (900, "优秀", 0), (899.9, "称职", 1), (750, "称职", 1),
    (600, "基本称职", 2), (599, "不称职", 3), (0, "不称职", 3)])
def test_grade_bands(app, total, grade, band):
    assert scoring.grade_for(total, RUBRIC["bands"], "zh") == grade
    # One item worth `total`, fully reached: the score lands in the expected band.
    rubric = {"items": [computed("six_one", top=max(total, 0.1))], "bands": RUBRIC["bands"]}
    result = scoring.score_cadre(None, "2026-11", rubric, {"six_one": 1.0}, {})
    assert result.band == band


def test_a_manual_item_needs_a_reason_and_points_in_range(app):
    item = next(i for i in RUBRIC["items"] if i.get("manual"))
    assert scoring.check_manual_points(item, "87.5", " 群众满意度高 ") == 87.5
    for points, reason, field in (("101", "理由", "points"), ("-1", "理由", "points"),
                                  ("abc", "理由", "points"), ("nan", "理由", "points"),
                                  ("80", "  ", "reason"), ("80", "长" * 501, "reason")):
        with pytest.raises(Invalid) as caught:
            scoring.check_manual_points(item, points, reason)
        assert field in caught.value.fields
    with pytest.raises(Invalid):
        scoring.check_manual_points(RUBRIC["items"][0], "10", "理由")  # a computed item


def test_the_default_rubric_is_valid_and_sums_to_1000(app):
    assert scoring.validate_rubric(RUBRIC) == []
    assert sum(i["max"] for i in RUBRIC["items"]) == 1000


def _broken(change) -> list[str]:
    rubric = copy.deepcopy(RUBRIC)
    change(rubric)
    with force_locale("en"):
        return scoring.validate_rubric(rubric)


def test_rubric_validation_names_each_problem(app):
    def dup(r):
        r["items"][1]["code"] = r["items"][0]["code"]
    assert any("used twice" in p for p in _broken(dup))

    def over(r):
        r["items"][0]["max"] += 10
    assert any("add up to 1010" in p for p in _broken(over))

    def bands(r):
        r["bands"][0]["min"], r["bands"][1]["min"] = 700, 800
    assert any("highest minimum down" in p for p in _broken(bands))

    def metric(r):
        r["items"][0]["computed"]["metric"] = "selfies"
    assert any("unknown metric" in p for p in _broken(metric))

    def both(r):
        r["items"][0]["manual"] = True
    assert any('either "computed"' in p for p in _broken(both))

    def floor(r):
        r["bands"][-1]["min"] = 100
    assert any("start at 0" in p for p in _broken(floor))
    assert scoring.validate_rubric([1, 2]) and scoring.validate_rubric({"items": []})


# --- scores from records made through the sync API ------------------------------------------

@pytest.fixture
def worked(world, device):
    """sec1 visits every household of V1, meets, gives a lecture; sec3 does one visit."""
    phone = device(world.sec1)
    visits = [visit_payload(h) for h in world.h1]
    answers = sync(phone, *visits, meeting(), meeting(),
                   base("action", action_type="party_lecture", title="讲党课", state="done"))
    assert {a["status"] for a in answers} == {"stored"}
    sync(device(world.sec3), visit_payload(world.h3[0]))
    return world


def test_period_scores_come_from_the_records(worked):
    w = worked
    period = Period.parse("")
    by_cadre = {s.cadre.id: s for s in scoring.period_scores(
        [w.sec1.id, w.sec2.id, w.sec3.id], period)}
    one = {i.code: i for i in by_cadre[w.sec1.id].items}
    assert one["coverage"].value == 1.0 and one["coverage"].points == 80  # every household
    assert one["six_one"].value == pytest.approx(2 / 6)  # visit-all + the lecture
    assert one["visits"].points > 0 and one["meetings"].points > 0
    assert one["evaluation"].manual and not one["evaluation"].scored
    assert by_cadre[w.sec1.id].total > by_cadre[w.sec2.id].total
    assert by_cadre[w.sec1.id].total == pytest.approx(sum(i.points for i in one.values()))


def test_a_manual_score_counts_is_audited_and_replaced_not_duplicated(worked):
    w = worked
    period = Period.parse("")
    before = scoring.period_scores([w.sec1.id], period)[0].total
    scoring.set_manual_score(w.sup_t1, w.sec1.id, period.key, "evaluation", "80", "群众评价好")
    scoring.set_manual_score(w.sup_t1, w.sec1.id, period.key, "evaluation", "90", "复核后调整")
    after = scoring.period_scores([w.sec1.id], period)[0]
    assert after.total == pytest.approx(before + 90)
    item = next(i for i in after.items if i.code == "evaluation")
    assert item.reason == "复核后调整" and item.scored_by == "SUP_T1"
    assert db.session.scalar(select(func.count()).select_from(ManualScore)) == 1
    details = [json.loads(d) for d in db.session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "score.manual"))]
    assert [(d["from"], d["to"]) for d in details] == [(None, 80.0), (80.0, 90.0)]
    with pytest.raises(NotFound):  # sec3 is in T2
        scoring.set_manual_score(w.sup_t1, w.sec3.id, period.key, "evaluation", "80", "x")
    with pytest.raises(Invalid):
        scoring.set_manual_score(w.sup_t1, w.sec1.id, period.key, "days", "80", "x")


# --- pages -----------------------------------------------------------------------------------

def _en(client):
    with client.session_transaction() as s:
        s["locale"] = "en"


def test_township_supervisor_sees_only_their_township(client, login, worked):
    w = worked
    login("sup_t2")
    page = client.get("/scoring/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-cadre-id="{w.sec3.id}"' in html
    assert f'data-cadre-id="{w.sec1.id}"' not in html and "SEC1" not in html
    assert client.get(f"/scoring/{w.sec1.id}").status_code == 404
    assert client.get(f"/scoring/{w.sec3.id}").status_code == 200


def test_secretaries_get_no_scores_and_inspectors_only_read(client, login, worked):
    w = worked
    login("sec1")
    assert client.get("/scoring/").status_code == 403
    assert client.get(f"/scoring/{w.sec1.id}").status_code == 403
    client.post("/logout", data={"csrf_token": login("inspector").csrf})
    session = login("inspector")
    assert client.get(f"/scoring/{w.sec1.id}").status_code == 200
    answer = client.post(f"/scoring/{w.sec1.id}/manual", data={
        "csrf_token": session.csrf, "item": "evaluation", "points": "50", "reason": "x"})
    assert answer.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ManualScore)) == 0


def test_manual_score_form_refuses_without_reason_then_saves(client, login, worked):
    w = worked
    session = login("sup_t1")
    _en(client)
    url = f"/scoring/{w.sec1.id}/manual"
    refused = client.post(url, data={"csrf_token": session.csrf, "item": "evaluation",
                                     "points": "85", "reason": ""})
    assert refused.status_code == 422
    assert 'data-testid="error-reason"' in refused.get_data(as_text=True)
    too_many = client.post(url, data={"csrf_token": session.csrf, "item": "evaluation",
                                      "points": "500", "reason": "好"})
    assert too_many.status_code == 422 and "from 0 to 100" in too_many.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ManualScore)) == 0
    saved = client.post(url, data={"csrf_token": session.csrf, "item": "evaluation",
                                   "points": "85", "reason": "群众评价好，作风扎实"})
    assert saved.status_code == 302
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "群众评价好，作风扎实" in page and 'data-points="85.0"' in page


def test_admin_edits_the_rubric_invalid_json_or_rules_save_nothing(client, login, world):
    session = login("admin")
    _en(client)
    assert client.get("/admin/scoring").status_code == 200
    bad = client.post("/admin/scoring", data={"csrf_token": session.csrf, "rubric": "{oops"})
    assert bad.status_code == 422 and "not valid JSON" in bad.get_data(as_text=True)
    rubric = copy.deepcopy(RUBRIC)
    rubric["items"][0]["max"] = 300
    rubric["items"][1]["code"] = rubric["items"][0]["code"]
    wrong = client.post("/admin/scoring", data={"csrf_token": session.csrf,
                                                "rubric": json.dumps(rubric)})
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "add up to 1100" in text and "used twice" in text
    assert db.session.scalar(select(func.count()).select_from(CountySetting)) == 0
    rubric = copy.deepcopy(RUBRIC)
    rubric["items"][0]["max"], rubric["items"][-1]["max"] = 250, 50
    rubric["bands"][0]["min"] = 920
    ok = client.post("/admin/scoring", data={"csrf_token": session.csrf,
                                             "rubric": json.dumps(rubric)})
    assert ok.status_code == 302
    assert scoring.rubric_for(world.v1)["bands"][0]["min"] == 920
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "settings.update")) == 1


def test_only_admins_edit_the_rubric(client, login, world):
    login("sup_county")
    assert client.get("/admin/scoring").status_code == 403
