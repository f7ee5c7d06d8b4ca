"""Security headers on every answer, and cookies a script or another site cannot use.

Every GET endpoint of the URL map is fetched as anonymous, as a role it is for (the real page)
and as a role it is not for (the refusal); each answer must carry a CSP with no inline script
or style, nosniff, X-Frame-Options DENY and a Referrer-Policy. Error answers (404, API JSON,
an unexpected 500) carry them too.
"""
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, csrf_token
from tests.test_scope_matrix import ACCESS, ROLES, Caller, Ctx, _url, build_objects
from tests.test_sync_api import sync, visit_payload

REQUIRED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def header_problems(response) -> list[str]:
    """Return what is wrong with an answer's security headers.

    A static script, style or icon is not a document: nosniff is what applies to it (the
    document-only policies are left off to spare a phone's precache ~500 bytes a file)."""
    problems = []
    if response.request.path.startswith("/static/") and response.mimetype not in (
            "text/html", "image/svg+xml"):
        if response.headers.get("X-Content-Type-Options") != "nosniff":
            problems.append("a static file without nosniff")
        return problems
    csp = response.headers.get("Content-Security-Policy", "")
    if not csp:
        problems.append("no Content-Security-Policy")
    for weak in ("unsafe-inline", "unsafe-eval", "*"):
        if weak in csp.replace("'self'", ""):
            problems.append(f"CSP allows {weak}")
    for directive in ("script-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
                      "base-uri 'self'"):
        if directive not in csp:
            problems.append(f"CSP lacks {directive}")
    for name, value in REQUIRED.items():
        if response.headers.get(name) != value:
            problems.append(f"{name} is {response.headers.get(name)!r}, not {value!r}")
    if response.headers.get("Referrer-Policy") not in ("same-origin", "no-referrer",
                                                       "strict-origin-when-cross-origin"):
        problems.append(f"Referrer-Policy is {response.headers.get('Referrer-Policy')!r}")
    return problems


def test_every_get_endpoint_answers_with_the_security_headers(app, world, device):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    objects = build_objects(world, device)
    get_rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]
    callers = {role: Caller(app, world, role) for role in (*ROLES, None)}
    problems, seen = [], set()
    for rule in sorted(get_rules, key=lambda r: r.endpoint):
        if rule.endpoint not in ACCESS:
            continue  # unclassified: test_scope_matrix.py::test_every_endpoint_is_classified
        access = ACCESS[rule.endpoint]
        allowed = [r for r in ROLES if r in access.roles]
        denied = [r for r in ROLES if r not in access.roles]
        for role in {None, allowed[0], *(denied[:1])}:
            ctx = Ctx(world, objects, role, "own")
            url = _url(app, rule.endpoint, rule, ctx)
            response = callers[role].send("GET", url, access, ctx, "session")
            seen.add(response.status_code)
            problems += [f"GET {url} as {role or 'anonymous'} ({response.status_code}): {p}"
                         for p in header_problems(response)]
    assert not problems, "\n".join(problems)
    assert {200, 302, 403} <= seen  # pages, redirects to sign in and refusals were all seen


@pytest.mark.parametrize("url", ["/nothing-here", "/api/v1/nothing-here", "/api/v1/me"])
def test_error_answers_carry_the_headers_too(client, url):
    response = client.get(url)
    assert response.status_code in (401, 404)
    assert header_problems(response) == []


def test_an_unexpected_server_error_carries_the_headers(app, client):
    def boom():
        raise RuntimeError("unexpected")

    app.add_url_rule("/boom-for-headers", "boom_for_headers", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom-for-headers")
    assert response.status_code == 500 and header_problems(response) == []


XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"


def test_text_people_typed_is_shown_escaped(app, client, world, device, login):
    """What a cadre typed on the phone and what an attacker typed as a username reach
    reviewers' and admins' pages as text, never as markup (the CSP is the second line)."""
    record = visit_payload(world.h1[0], heard=XSS, requests=XSS)
    sync(device(world.sec1), record)
    client.post("/login", data={"username": XSS, "password": "x",
                                "csrf_token": csrf_token(client)})
    login("admin")
    visit_page = client.get(f"/review/visits/{record['id']}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in visit_page
    for url in (f"/review/visits/{record['id']}", "/review/", "/admin/audit"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body, url


def _cookies_at_sign_in(client, login) -> dict[str, str]:
    set_cookies = login("sec1").response.headers.getlist("Set-Cookie")
    assert set_cookies, "signing in set no cookie"
    return {line.split("=", 1)[0]: line for line in set_cookies}


def test_session_cookie_is_httponly_and_samesite_lax(client, world, login):
    cookies = _cookies_at_sign_in(client, login)
    assert "session" in cookies
    for name, line in cookies.items():
        assert "HttpOnly" in line, f"{name} is readable by scripts: {line}"
        assert "SameSite=Lax" in line, f"{name} rides cross-site requests: {line}"


def test_session_cookie_is_secure_when_configured(app, client, world, login):
    app.config["SESSION_COOKIE_SECURE"] = True
    for name, line in _cookies_at_sign_in(client, login).items():
        assert "Secure" in line, f"{name} would travel over plain HTTP: {line}"


@pytest.mark.parametrize("value, secure", [("1", True), ("0", False)])
def test_session_cookie_secure_is_read_from_the_environment(value, secure):
    env = {**os.environ, "SESSION_COOKIE_SECURE": value}
    out = subprocess.run(
        [sys.executable, "-c", "from fieldlog.config import Config; "
                               "print(Config.SESSION_COOKIE_SECURE)"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(secure)


def test_static_files_carry_nosniff_and_no_session_cookie(client, world, login):
    """What a phone precaches at sign-in comes without a cookie or the document policies, and
    a page answered again within the minute does not send the session cookie again."""
    login("sec1")
    page = client.get("/m/")
    css = re.search(r"/static/css/app\.[0-9a-f]+\.css", page.get_data(as_text=True)).group(0)
    styles = client.get(css)
    assert styles.status_code == 200 and styles.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in styles.headers and "Content-Security-Policy" not in styles.headers
    again = client.get("/m/outbox")
    assert again.status_code == 200 and "Set-Cookie" not in again.headers
    assert "Content-Security-Policy" in again.headers  # a page keeps every policy
    assert client.get("/m/").status_code == 200  # still signed in: the cookie was kept
