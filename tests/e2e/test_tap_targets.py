"""Every tap target on every phone page is at least 44×44 CSS px (390×844, signed-in secretary).

Measured: every visible a, button, input, select, textarea, summary and [role=button], and every
label that stands in for its control (wraps or names a checkbox, radio or file input). A control
hidden behind its label (a visually hidden file input, a transparent radio in a `.choice`) is
measured through the label a finger actually taps.

Not measured, and why:
- the label of a text field, select or textarea: tapping it only focuses the field, and the
  field itself (48 px high) is the target;
- an element entirely outside the page to the left (the skip link before it is focused);
- nothing else: links inside running text are made big like any other (no WCAG 2.5.8 inline
  exemption is taken).

Screenshots: test-artifacts/e2e/tap-<page>.png.
"""
from sqlalchemy import select

from fieldlog.models import Household, LedgerItem, Meeting, User, Visit
from fieldlog.services.people.auth import issue_device_token
from fieldlog.services.review import decisions as review
from tests.e2e.test_month import _at, _record, seed_month
from tests.e2e.test_offline_visit import by_id, shot, sign_in_secretary

MIN = 44
MEASURE = """(MIN) => {
  const small = [];
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    // checkVisibility: false inside a closed <details> (rendered but not shown) or display:none.
    return r.width > 0 && r.height > 0 && r.right > 0 &&
      el.checkVisibility({visibilityProperty: true});
  };
  const proxied = (input) => ["checkbox", "radio", "file"].includes(input.type);
  const labelOf = (input) => input.closest("label") || (input.id &&
    document.querySelector(`label[for="${CSS.escape(input.id)}"]`));
  const hiddenByDesign = (el) => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return s.opacity === "0" || (r.width <= 1 && r.height <= 1);
  };
  const targets = new Set();
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, " +
    "[role=button], label";
  for (const el of document.querySelectorAll(selector)) {
    if (el.tagName === "LABEL") {
      const input = el.control;
      if (input && proxied(input) && !input.disabled) targets.add(el);
      continue;
    }
    if (el.tagName === "INPUT" && proxied(el) && labelOf(el)) {
      const label = labelOf(el);
      if (hiddenByDesign(el)) { targets.add(label); continue; }
      // A box inside a big label: the label is the target (it is measured as a label).
      if (el.closest("label")) continue;
    }
    targets.add(el);
  }
  for (const el of targets) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width + 0.5 < MIN || r.height + 0.5 < MIN) {
      const text = (el.innerText || el.value || el.getAttribute("aria-label") || el.title ||
                    el.getAttribute("name") || "").trim().replace(/\\s+/g, " ").slice(0, 30);
      const tag = el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
        ? "." + el.className.trim().split(/\\s+/).join(".") : "");
      small.push(`${tag} "${text}" ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
  }
  return small;
}"""


def _seed(server) -> dict:
    """A month of sec1's records, one visit returned by the supervisor; the ids the pages need."""
    seed_month(server)
    with server.db() as session:
        sec1 = session.get(User, server.world.sec1_id)
        _token, raw = issue_device_token(sec1, "e2e goal")
    goal = _record("goal", _at(3, 10), goal_type="project", title="引进茶叶加工项目")
    answer = server.app.test_client().post("/api/v1/sync", json={"records": [goal]},
                                            headers={"Authorization": f"Bearer {raw}"})
    assert answer.get_json()["results"][0]["status"] == "stored", answer.json
    with server.db() as session:
        sec1 = session.get(User, server.world.sec1_id)
        visit = session.scalars(select(Visit).where(Visit.author_id == sec1.id)
                                .order_by(Visit.occurred_at)).first()
        supervisor = session.get(User, server.world.sup_t1_id)
        review.decide(supervisor, "visit", visit.id, visit.version, "return",
                      "请补充家庭收入情况。")
        meeting = session.scalars(select(Meeting).where(Meeting.author_id == sec1.id)).first()
        item = session.scalars(select(LedgerItem).where(LedgerItem.author_id == sec1.id)).first()
        household = session.scalars(select(Household).where(
            Household.id == server.world.households_v1[0].id)).one()
        return {"visit": visit.id, "meeting": meeting.id, "item": item.id,
                "household": household.id}


def _pages(ids: dict) -> dict[str, str]:
    return {
        "home": "/m/",
        "households": "/m/households",
        "visit-new": "/m/visits/new",
        "visit-edit": f"/m/visits/{ids['visit']}/edit",
        "returned": "/m/returned",
        "outbox": "/m/outbox",
        "meetings": "/m/meetings",
        "meeting-new": "/m/meetings/new",
        "meeting-edit": f"/m/records/meeting/{ids['meeting']}/edit",
        "actions": "/m/actions",
        "action-new": "/m/actions/new",
        "goal-new": "/m/goals/new",
        "ledger": "/m/ledger",
        "ledger-new": "/m/ledger/new",
        "ledger-item": f"/m/ledger/{ids['item']}",
        "attendance": "/m/attendance",
        "attendance-mark": "/m/attendance/mark",
        "leave": "/m/leave",
        "leave-new": "/m/leave/new",
        "month": "/m/month",
        "register": "/register/",
        "register-edit": f"/register/households/{ids['household']}",
        "coverage": "/register/coverage",
        "account": "/account",
        "password": "/account/password",
        "offline": "/offline",
    }


def test_every_phone_page_has_tap_targets_of_44_px(browsing, live_server, artifacts,
                                                    photos_dir):
    ids = _seed(live_server)
    photo = str(photos_dir / "jpg_gps_DSCN0010.jpg")
    page = browsing.phone().new_page()
    page.goto("/login")  # the one page before signing in
    too_small = [f"/login: {small}" for small in page.evaluate(MEASURE, MIN)]
    shot(page, artifacts, "tap-login", full_page=True)
    sign_in_secretary(page, live_server)
    for name, path in _pages(ids).items():
        response = page.goto(path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)  # lists drawn from IndexedDB, GPS state
        if name == "visit-new":  # the chosen household and its "change" button
            page.locator("[data-testid=household-item]").first.tap()
            by_id(page, "household-chosen").wait_for()
        if name == "meeting-new":  # a chosen photo and its "remove" button
            page.locator("[data-photo-input][multiple]").first.set_input_files(photo)
            page.locator(".thumb-remove").first.wait_for()
        found = page.evaluate(MEASURE, MIN)
        shot(page, artifacts, f"tap-{name}", full_page=True)
        # Then with every <details> open: the user menu, the "confirm" panels, the edit forms.
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        found += [f for f in page.evaluate(MEASURE, MIN) if f not in found]
        too_small += [f"{path}: {small}" for small in found]
    assert not too_small, (f"{len(too_small)} tap targets under {MIN}×{MIN} px:\n"
                           + "\n".join(too_small))
