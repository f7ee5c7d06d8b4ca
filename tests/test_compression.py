"""Compressed answers: brotli or gzip as the browser asks, never for images, exports or secrets."""
import gzip
import re

import brotli
import pytest

from tests.conftest import ROOT
from tests.test_privacy import v1_visit  # noqa: F401  (fixture)

DECODE = {"gzip": gzip.decompress, "br": brotli.decompress}


def _static_url(client, page: str, pattern: str) -> str:
    return re.search(pattern, client.get(page).get_data(as_text=True)).group(0)


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_text_is_compressed_as_the_browser_asks(client, encoding):
    css = _static_url(client, "/login", r"/static/css/app\.[0-9a-f]+\.css")
    js = _static_url(client, "/login", r"/static/js/app\.[0-9a-f]+\.js")
    for url in ["/login", "/api/v1/openapi.json", css, js, "/sw.js", "/manifest.webmanifest"]:
        with client.get(url, headers={"Accept-Encoding": "identity"}) as plain:
            plain_body = plain.get_data()
        with client.get(url, headers={"Accept-Encoding": f"{encoding}, deflate"}) as packed:
            packed_body = packed.get_data()
        assert "Content-Encoding" not in plain.headers, url
        assert packed.headers["Content-Encoding"] == encoding, url
        assert "Accept-Encoding" in packed.headers["Vary"], url
        assert len(packed_body) < len(plain_body) / 2, url
        body = DECODE[encoding](packed_body)
        if url == "/login":  # the CSRF token differs from one page to the next
            body, plain_body = (re.sub(rb'value="[^"]+"|content="[^"]+"', b"", b)
                                for b in (body, plain_body))
        assert body == plain_body, url


def test_brotli_is_preferred_and_nothing_without_accept_encoding(client):
    assert client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br"}
                      ).headers["Content-Encoding"] == "br"
    assert "Content-Encoding" not in client.get("/login").headers


def test_images_are_not_compressed_again(client):
    icon = _static_url(client, "/login", r"/static/icons/icon-192\.[0-9a-f]+\.png")
    with client.get(icon, headers={"Accept-Encoding": "gzip, br"}) as response:
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert "Content-Encoding" not in response.headers


def test_exports_stream_uncompressed(client, world, login):
    login("sup_t1")
    response = client.get("/review/visits.csv", headers={"Accept-Encoding": "gzip, br"},
                          buffered=False)
    assert response.status_code == 200 and response.is_streamed
    assert "Content-Encoding" not in response.headers
    assert response.get_data(as_text=True).startswith(("含个人信息", "\ufeff含个人信息"))


def test_a_revealed_phone_number_is_not_compressed(client, world, login):
    """BREACH: a page that shows a secret once (no-store) goes out as it is."""
    household = world.h1[0]
    session = login("sec1")  # the village's secretary reveals in the register (permissions)
    shown = client.post(f"/register/households/{household.id}/reveal-phone",
                        data={"csrf_token": session.csrf, "reason": "回电说明诉求进展"},
                        headers={"Accept-Encoding": "gzip, br"})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert "Content-Encoding" not in shown.headers
    assert household.phone in shown.get_data(as_text=True)


def test_a_byte_range_is_sent_as_asked(client):
    """A range of a file is never compressed: the bytes would not be the range asked for."""
    with client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip, br",
                                                    "Range": "bytes=0-9999"}) as response:
        assert response.status_code == 206 and "Content-Encoding" not in response.headers
        assert response.get_data() == (ROOT / "static/css/app.css").read_bytes()[:10000]


def test_signed_in_pages_and_answers_are_compressed_and_still_no_store(client, world, login,
                                                                       device):
    """The no-store every signed-in answer gets keeps it out of caches; it is not a secret's mark,
    so the phone's pages and the API's JSON are compressed like the rest (the warm-up of a phone's
    offline pages is ~20 of them on a slow network)."""
    login("sec1")
    for url in ["/m/", "/m/visits/new", "/m/households", "/register/", "/m/month"]:
        page = client.get(url, headers={"Accept-Encoding": "gzip, br"})
        assert page.status_code == 200, url
        assert page.headers["Cache-Control"] == "no-store", url
        assert page.headers["Content-Encoding"] == "br", url
        assert "北堡村" in brotli.decompress(page.get_data()).decode(), url
    phone = device(world.sec1)
    answer = client.get("/api/v1/households", headers={"Accept-Encoding": "gzip",
                                                       "Authorization": f"Bearer {phone.token}"})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Content-Encoding"] == "gzip"


def test_a_one_time_password_page_is_not_compressed(client, world, login):
    """BREACH: the admin's page showing a new one-time password goes out as it is."""
    session = login("admin")
    shown = client.post(f"/admin/users/{world.sec2.id}/reset-password",
                        data={"csrf_token": session.csrf}, headers={"Accept-Encoding": "gzip, br"})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert "Content-Encoding" not in shown.headers
