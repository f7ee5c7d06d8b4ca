"""Fingerprinted static URLs: a content hash in the name, cached for a year, and a new name
when the content changes (fieldlog/assets.py)."""
import json
import re
import shutil
from pathlib import Path

import pytest

from fieldlog.assets import Assets
from tests.conftest import ROOT

STATIC = ROOT / "static"
FINGERPRINTED = re.compile(r"^/static/(?P<stem>.+)\.[0-9a-f]{10}(?P<ext>\.[a-z]+)$")
IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*["'](\./[^"']+)["']""")


def _get(client, url: str):
    with client.get(url) as response:
        response.get_data()
    return response


def _plain(url: str) -> str:
    match = FINGERPRINTED.match(url)
    assert match, f"not fingerprinted: {url}"
    return f"{match['stem']}{match['ext']}"


def _unhashed(body: bytes) -> bytes:
    return re.sub(rb"\.[0-9a-f]{10}\.js", b".js", body)


def test_pages_link_fingerprinted_files_served_for_a_year(client, world, login):
    login("sec1")
    page = client.get("/m/").get_data(as_text=True)
    urls = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page))
    assert any(u.endswith(".css") for u in urls) and any(u.endswith(".js") for u in urls)
    for url in urls:
        response = _get(client, url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        expected = (STATIC / _plain(url)).read_bytes()
        body = response.get_data()
        # A module's imports carry their own fingerprints; otherwise the file is as it is.
        assert (_unhashed(body) if url.endswith(".js") else body) == expected, url


def test_modules_import_fingerprinted_modules_down_the_whole_graph(client):
    page = client.get("/login").get_data(as_text=True)
    [entry] = re.findall(r'src="(/static/js/app\.[0-9a-f]+\.js)"', page)
    seen, todo = set(), [entry]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = _get(client, url)
        assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
        for specifier in IMPORT.findall(response.get_data(as_text=True)):
            todo.append("/static/js/" + specifier.removeprefix("./"))
    assert {_plain(u) for u in seen} >= {"js/app.js", "js/db.js", "js/outbox.js", "js/sync.js",
                                         "js/device.js", "js/ui.js"}


def test_plain_names_keep_a_short_cache_and_older_hashes_are_not_kept(client):
    plain = _get(client, "/static/js/app.js")
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "public, max-age=600"
    assert plain.get_data() == (STATIC / "js/app.js").read_bytes()
    older = _get(client, "/static/css/app.0123456789.css")
    assert older.status_code == 200 and older.headers["Cache-Control"] == "no-cache"
    assert older.get_data() == (STATIC / "css/app.css").read_bytes()
    assert _get(client, "/static/css/nothing.0123456789.css").status_code == 404


def _copy_static(tmp_path: Path) -> Path:
    folder = tmp_path / "static"
    shutil.copytree(STATIC, folder)
    return folder


def test_a_changed_file_gets_a_new_name_and_so_do_the_modules_that_import_it(tmp_path):
    folder = _copy_static(tmp_path)
    before = Assets.scan(folder).names
    assert before == Assets.scan(STATIC).names  # contents decide, not the place or the time
    db_js = folder / "js/db.js"
    db_js.write_text(db_js.read_text() + "\n// changed\n")
    after = Assets.scan(folder).names
    changed = {name for name in before if before[name] != after[name]}
    # db.js, what imports it, what imports those, … up to the pages' entry points.
    assert {"js/db.js", "js/outbox.js", "js/device.js", "js/app.js", "js/visit-form.js",
            "js/goal-form.js"} <= changed
    assert not changed & {"js/ui.js", "js/exif.js", "css/app.css", "icons/icon-192.png"}


def test_modules_importing_each_other_in_a_circle_are_refused(tmp_path):
    folder = tmp_path / "static"
    (folder / "js").mkdir(parents=True)
    (folder / "js/a.js").write_text('import { b } from "./b.js";\nexport const a = 1;\n')
    (folder / "js/b.js").write_text('import { a } from "./a.js";\nexport const b = 2;\n')
    with pytest.raises(ValueError, match="circle"):
        Assets.scan(folder)


def _worker_assets(source: str) -> tuple[dict, str]:
    assets = json.loads(re.search(r"const ASSETS = (\{.*?\});", source, re.S).group(1))
    version = re.search(r'const ASSETS_VERSION = "([0-9a-f]+)";', source).group(1)
    return assets, version


def test_the_service_worker_precaches_the_fingerprinted_names(app, client, tmp_path):
    with client.get("/sw.js") as response:
        source = response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-cache"
    assets, version = _worker_assets(source)
    shell = re.findall(r'^\s+"(/static/[^"]+)",$', source, re.M)
    assert "/static/js/app.js" in shell and "/static/css/app.css" in shell
    page = client.get("/offline").get_data(as_text=True)
    for url in shell:
        assert FINGERPRINTED.match(assets[url]), url
        assert _get(client, assets[url]).status_code == 200
    assert assets["/static/css/app.css"] in page and assets["/static/js/app.js"] in page

    # A changed file changes the worker's bytes: browsers install it again.
    folder = _copy_static(tmp_path)
    (folder / "css/app.css").write_text((folder / "css/app.css").read_text() + "\n/* x */\n")
    app.static_folder = str(folder)
    app.extensions.pop("fieldlog_assets", None)
    changed, new_version = _worker_assets(client.get("/sw.js").get_data(as_text=True))
    assert changed["/static/css/app.css"] != assets["/static/css/app.css"]
    assert changed["/static/js/app.js"] == assets["/static/js/app.js"]
    assert new_version != version
