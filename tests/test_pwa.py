"""The installable-app plumbing and the headers every page carries."""
import json


def test_service_worker_is_served_at_root_scope_uncached(client):
    with client.get("/sw.js") as response:
        assert response.status_code == 200 and "javascript" in response.mimetype
        assert response.headers["Service-Worker-Allowed"] == "/"
        assert response.headers["Cache-Control"] == "no-cache"


def test_manifest_makes_the_app_installable(client):
    with client.get("/manifest.webmanifest") as response:
        manifest = json.loads(response.data)
        assert response.mimetype == "application/manifest+json"
    assert manifest["start_url"] == "/m/" and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as response:
            assert response.status_code == 200 and response.mimetype == "image/png"


def test_offline_page_needs_no_sign_in(client):
    assert client.get("/offline").status_code == 200


def test_pages_carry_a_csp_without_inline_script(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_templates_hold_no_inline_script_or_handlers():
    """The CSP would block them; keep them out of the source too."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    for path in root.rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, f"{path}: {tag}"
        assert not re.search(r"\son[a-z]+=", text), f"inline handler in {path}"


def test_openapi_document_describes_the_sync_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/sync", "/api/v1/photos/{photo_id}", "/api/v1/devices"} <= set(spec["paths"])
    visit = spec["components"]["schemas"]["Visit"]
    assert {"id", "household_id", "occurred_at"} <= set(visit["required"])
    from openapi_spec_validator import validate

    validate(spec)


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://fieldlog.example")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
