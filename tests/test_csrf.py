"""CSRF: every state-changing request that rides a browser session needs that session's token.

The endpoints come from the URL map, so a new form or API endpoint is covered the day it is
added. Pages take the token as the form field `csrf_token`; the API, when called with the
session cookie, takes it in the `X-CSRFToken` header; the API called with a device token
(the phone's offline replay) needs none, since no cookie rides along.
"""
import uuid

import pytest
from itsdangerous import TimestampSigner
from werkzeug.routing.converters import AnyConverter, IntegerConverter, UUIDConverter

from tests.conftest import csrf_token

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# API endpoints reachable without any session; why a forged cross-site call gains nothing.
SESSIONLESS_API = {
    "api.login_device": "takes credentials as a JSON body (a cross-site form cannot send JSON "
                        "without a CORS preflight, which is not allowed) and answers a token in "
                        "the body; it sets no cookie, so there is no session to ride or plant",
}


def _url(app, rule) -> str:
    """Build a URL for a rule with a value each converter accepts (CSRF is checked first)."""
    values = {}
    for arg, converter in rule._converters.items():
        if isinstance(converter, UUIDConverter):
            values[arg] = str(uuid.uuid4())
        elif isinstance(converter, IntegerConverter):
            values[arg] = 1
        elif isinstance(converter, AnyConverter):
            values[arg] = sorted(converter.items)[0]
        else:
            values[arg] = "x"
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def _calls(app, *, api: bool) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every state-changing rule inside or outside /api/."""
    return sorted((rule.endpoint, method, _url(app, rule))
                  for rule in app.url_map.iter_rules()
                  for method in rule.methods & STATE_CHANGING
                  if rule.rule.startswith("/api/") == api)


def _is_csrf_refusal(response) -> bool:
    text = response.get_data(as_text=True)
    return response.status_code == 400 and "CSRF" in text


@pytest.fixture
def signed_in(app, client, world, login):
    """An admin's browser (the most powerful session to forge requests from)."""
    return login("admin")


def _other_session_token(app) -> str:
    """A valid token of somebody else's browser session."""
    return csrf_token(app.test_client())


def test_there_are_form_endpoints_to_check(app):
    assert len(_calls(app, api=False)) >= 3 and len(_calls(app, api=True)) >= 3


def test_every_form_post_refuses_a_missing_wrong_or_foreign_token(app, client, signed_in):
    bad_tokens = {
        "no token": None,
        "a made-up token": "not-a-token",
        "another session's token": _other_session_token(app),
        "this session's token, cut": signed_in.csrf[:-4],
    }
    problems = []
    for endpoint, method, url in _calls(app, api=False):
        for case, token in bad_tokens.items():
            data = {} if token is None else {"csrf_token": token}
            response = client.open(url, method=method, data=data)
            if not _is_csrf_refusal(response):
                problems.append(f"{endpoint} {method} {url} with {case}: "
                                f"{response.status_code}, not a CSRF refusal (400)")
    assert not problems, "\n".join(problems)
    # Nothing went through: the admin is still signed in (sign-out refused every time).
    assert client.get("/account").status_code == 200


def test_a_token_from_before_signing_in_again_is_refused(app, client, world, login):
    old = login("sec1").csrf
    client.post("/logout", data={"csrf_token": old})
    login("sec1")
    for endpoint, method, url in _calls(app, api=False):
        response = client.open(url, method=method, data={"csrf_token": old})
        assert _is_csrf_refusal(response), f"{endpoint} {method} took a token of an ended session"


def test_a_token_signed_with_another_secret_key_is_refused(app, client, signed_in):
    forged = TimestampSigner("another-secret", salt="wtf-csrf-token").sign("x" * 40).decode()
    response = client.post("/logout", data={"csrf_token": forged})
    assert _is_csrf_refusal(response)


def test_an_expired_token_is_refused_when_tokens_have_a_time_limit(app, client, signed_in,
                                                                    monkeypatch):
    """Tokens last as long as the session by default (WTF_CSRF_TIME_LIMIT=None); a deployment
    that sets a limit gets expiry."""
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    token = signed_in.csrf
    later = TimestampSigner.get_timestamp(TimestampSigner("k")) + 3601
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    response = client.post("/logout", data={"csrf_token": token})
    assert _is_csrf_refusal(response) and "expired" in response.get_data(as_text=True)


def test_the_api_with_a_session_cookie_needs_the_csrf_header(app, client, signed_in):
    problems = []
    for endpoint, method, url in _calls(app, api=True):
        if endpoint in SESSIONLESS_API:
            continue
        for case, headers in (("no header", {}), ("a made-up header", {"X-CSRFToken": "nope"}),
                              ("another session's token",
                               {"X-CSRFToken": _other_session_token(app)})):
            response = client.open(url, method=method, json={}, headers=headers)
            body = response.get_json(silent=True) or {}
            if response.status_code != 400 or body.get("error") != "bad_request":
                problems.append(f"{endpoint} {method} with {case}: {response.status_code} {body}")
        accepted = client.open(url, method=method, json={},
                               headers={"X-CSRFToken": signed_in.csrf})
        if _is_csrf_refusal(accepted) or accepted.status_code >= 500:
            problems.append(f"{endpoint} {method} refused its own session's token: "
                            f"{accepted.status_code}")
    assert not problems, "\n".join(problems)


def test_the_api_with_a_device_token_needs_no_csrf(app, world, device):
    phone = device(world.sec1)
    problems = []
    for endpoint, method, url in _calls(app, api=True):
        response = app.test_client().open(url, method=method, json={},
                                          headers={"Authorization": f"Bearer {phone.token}"})
        if _is_csrf_refusal(response) or response.status_code >= 500:
            problems.append(f"{endpoint} {method}: {response.status_code} "
                            f"{response.get_data(as_text=True)[:200]}")
    assert not problems, "\n".join(problems)


def test_every_sessionless_api_endpoint_exists(app):
    endpoints = {endpoint for endpoint, _method, _url in _calls(app, api=True)}
    assert set(SESSIONLESS_API) <= endpoints, "SESSIONLESS_API names a gone endpoint"
