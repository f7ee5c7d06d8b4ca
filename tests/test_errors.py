"""The API answers every failure in one JSON shape, including unexpected ones."""
import re


def test_unknown_api_route_is_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_wrong_method_is_json(client):
    response = client.get("/api/v1/sync")
    assert response.status_code == 405 and response.get_json()["message"]


def test_unexpected_server_error_is_json_without_details(app, world, device, monkeypatch):
    import fieldlog.views.api as api

    def boom(*_args, **_kwargs):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(api, "apply_batch", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = device(world.sec1).post("/api/v1/sync", json={"records": [{"type": "visit"}]})
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "internal_server_error" and "database fell over" not in body["message"]


def test_every_api_405_names_the_allowed_methods(app, client):
    """Each /api/v1 route refuses a method it lacks with 405, the JSON shape and `Allow`."""
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<[^>]+>", "00000000-0000-4000-8000-000000000000", rule.rule)
        allowed = {method for other in app.url_map.iter_rules() if other.rule == rule.rule
                   for method in other.methods}
        wrong = next(m for m in ("DELETE", "PATCH", "PUT", "POST", "GET") if m not in allowed)
        response = client.open(path, method=wrong)
        assert response.status_code == 405, (path, wrong)
        assert response.get_json()["error"] == "method_not_allowed"
        named = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
        assert named and allowed - {"OPTIONS", "HEAD"} <= named <= allowed, path
        checked += 1
    assert checked >= 5
def _page_error(response, status: int) -> str:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_not_found_page_is_the_apps_own_in_chinese_with_a_way_home(client, world, login):
    login("sup_t1")
    page = _page_error(client.get("/progress/no-such-page"), 404)
    assert 'lang="zh-CN"' in page and "找不到这个页面" in page
    assert 'data-testid="error-home"' in page and 'href="/"' in page
    assert 'data-testid="nav-progress"' in page  # the app's layout, navigation included
    assert "Not Found" not in page and "The requested URL" not in page


def test_not_found_page_for_someone_not_signed_in(client):
    page = _page_error(client.get("/no-such-page"), 404)
    assert "找不到这个页面" in page and 'data-testid="error-home"' in page


def test_forbidden_page_is_the_apps_own(client, world, login):
    login("sec1")
    page = _page_error(client.get("/admin/users"), 403)
    assert "没有权限" in page and 'data-testid="error-home"' in page
    assert "Forbidden" not in page


def test_error_page_speaks_english_when_chosen(client, world, login):
    login("sup_t1")
    client.get("/lang/en")
    page = _page_error(client.get("/progress/no-such-page"), 404)
    assert 'lang="en"' in page and "Page not found" in page and "Back to home" in page


def test_unexpected_error_on_a_page_is_the_apps_own_page(app, client, world, login):
    def boom():
        raise RuntimeError("database fell over")

    app.add_url_rule("/boom-for-test", "boom_for_test", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login("sup_t1")
    page = _page_error(client.get("/boom-for-test"), 500)
    assert "出错了" in page and 'data-testid="error-home"' in page
    assert "database fell over" not in page and "Internal Server Error" not in page


def test_too_large_upload_on_a_page_says_so(app, client, world, login):
    who = login("admin")
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/register/import", data={"csrf_token": who.csrf, "file": "x" * 5000})
    assert "文件太大" in _page_error(response, 413)


def test_a_refused_form_token_says_to_reload_in_the_apps_page(client, world, login):
    login("admin")
    page = _page_error(client.post("/admin/audit/verify", data={}), 400)
    assert "表单已过期" in page and 'data-testid="error-home"' in page
    assert "The CSRF token is missing." in page  # the reason, for whoever helps


def test_api_errors_stay_json_when_the_browser_asks_for_html(client):
    response = client.get("/api/v1/nothing-here", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
