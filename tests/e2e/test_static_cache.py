"""Fingerprinted static files in the browser: the service worker precaches the fingerprinted
names, pages use them, and a page from before an update still opens offline."""
import re

from playwright.sync_api import expect

from tests.e2e.test_offline_visit import shot, sign_in_secretary

FINGERPRINTED = re.compile(r"/static/.+\.[0-9a-f]{10}\.[a-z]+$")

SHELL_KEYS = """async () => {
  const name = (await caches.keys()).find((n) => n.startsWith("fieldlog-shell-"));
  const cache = await caches.open(name);
  return { name, urls: (await cache.keys()).map((r) => new URL(r.url).pathname) };
}"""


def test_the_worker_precaches_fingerprinted_names_and_pages_open_offline(browsing, live_server,
                                                                         artifacts):
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, live_server)
    shell = page.evaluate(SHELL_KEYS)
    static = [u for u in shell["urls"] if u.startswith("/static/")]
    assert static and all(FINGERPRINTED.search(u) for u in static), static
    assert {"app", "db", "outbox", "sync", "visit-form"} <= {
        u.rsplit("/", 1)[1].split(".")[0] for u in static if u.endswith(".js")}
    assert re.fullmatch(r"fieldlog-shell-v\d+-[0-9a-f]{10}", shell["name"])
    used = page.evaluate("""() => [...document.querySelectorAll("script[src], link[href]")]
        .map((e) => new URL(e.src || e.href).pathname).filter((p) => p.startsWith("/static/"))""")
    assert used and set(used) <= set(static)

    live_server.hits.clear()
    context.set_offline(True)
    page.goto("/m/visits/new")
    expect(page.locator("#visit-form")).to_have_attribute("data-ready", "1")
    shot(page, artifacts, "static-cache-offline-visit-form")
    # the worker's own update check of /sw.js may already be on its way as the phone goes offline
    assert [hit for hit in live_server.hits if hit != "GET /sw.js"] == []

    # A page cached before an update names files by their older hashes: offline, the
    # worker answers today's file of the same name.
    old = page.evaluate("""async () => {
      const r = await fetch("/static/js/ui.0123456789.js");
      return { ok: r.ok, text: (await r.text()).slice(0, 200) };
    }""")
    assert old["ok"] and old["text"].startswith("// Small page helpers")
