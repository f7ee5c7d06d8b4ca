"""The API answers every failure in one JSON shape, including unexpected ones."""


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
