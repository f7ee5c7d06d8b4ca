"""Nothing a signed-in user is shown may be kept by a browser's or a proxy's cache.

Every GET endpoint of the URL map is fetched as a role it is for; each answer must say
`Cache-Control: no-store` unless it is one of the few that chose otherwise, for a reason.
"""
import pytest

from tests import test_privacy
from tests.test_scope_matrix import ACCESS, ROLES, Caller, Ctx, _url, build_objects
from tests.test_sync_api import sync

v1_visit = test_privacy.v1_visit  # the fixture: sec1's visit to a V1 household

# Endpoint → what it sends instead, and why that is right.
OWN_RULES = {
    "static": None,  # the app's own files, no personal data: the default (revalidated)
    "pwa.service_worker": "no-cache",  # must be revalidated, holds no data
    "pwa.manifest": "public, max-age=3600",  # the app's name and icons
    # Photos: private (never in a shared cache) and immutable, so a weak network loads each
    # once per day; they are fetched only by a signed-in user in scope.
    "review.photo": "private, max-age=86400, immutable",
    "inspect.check_photo": "private, max-age=86400, immutable",
}


def test_every_page_and_json_a_signed_in_user_gets_is_no_store(app, world, device):
    objects = build_objects(world, device)
    callers = {role: Caller(app, world, role) for role in ROLES}
    problems, checked = [], 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if "GET" not in rule.methods or rule.endpoint not in ACCESS:
            continue
        access = ACCESS[rule.endpoint]
        if access.who == "public" and rule.endpoint not in OWN_RULES:
            continue
        role = next(r for r in ROLES if r in access.roles)
        ctx = Ctx(world, objects, role, "own")
        url = _url(app, rule.endpoint, rule, ctx)
        response = callers[role].send("GET", url, access, ctx,
                                      "bearer" if access.who == "api" else "session")
        if response.status_code != 200:
            continue
        checked += 1
        got = response.headers.get("Cache-Control")
        wanted = OWN_RULES.get(rule.endpoint, "no-store")
        if wanted is not None and (got or "") != wanted and not (
                wanted == "no-store" and "no-store" in (got or "")):
            problems.append(f"GET {url} as {role}: Cache-Control {got!r}, not {wanted!r}")
    assert not problems, "\n".join(problems)
    assert checked > 40


@pytest.mark.parametrize("username, path", [
    ("sup_t1", "/review/visits/{visit}"), ("sec1", "/review/visits/{visit}"),
    ("sec1", "/register/"), ("admin", "/register/?village={v1}"),
    ("sec1", "/register/households/{household}"), ("sup_t1", "/ledger/{item}"),
    ("sec1", "/m/ledger/{item}"), ("sec1", "/m/"), ("admin", "/admin/audit"),
    ("sup_t1", "/review/"), ("sup_t1", "/progress/"), ("sup_t1", "/map/data.json"),
    ("sec1", "/m/ledger.json"), ("inspector", "/inspect/")])
def test_pages_with_personal_data_are_no_store(client, world, login, device, v1_visit,
                                               username, path):
    from tests.test_sync_records import base

    item = base("ledger_item", household_id=world.h1[0].id, category="housing",
                content="危房改造", handler="township")
    sync(device(world.sec1), item)
    login(username)
    url = path.format(visit=v1_visit, v1=world.v1.id, household=world.h1[0].id,
                      item=item["id"])
    response = client.get(url, follow_redirects=True)
    assert response.status_code == 200, url
    assert "no-store" in response.headers["Cache-Control"], url


def test_anonymous_pages_and_the_apps_files_keep_their_caching(client):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    script = client.get("/static/js/app.js")
    script.close()
    assert "no-store" not in script.headers.get("Cache-Control", "")
