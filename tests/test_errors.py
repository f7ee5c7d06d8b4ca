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
