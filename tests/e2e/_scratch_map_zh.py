from tests.e2e.test_map import seed_few, sign_in, wait_ready, shot


def test_zh(browsing, live_server, artifacts):
    live_server.app.config["BABEL_TRANSLATION_DIRECTORIES"] = "/tmp/zh-trans"
    seed_few(live_server)
    for name, ctx in (("zh-desktop", browsing.desktop()), ("zh-phone", browsing.phone())):
        page = ctx.new_page()
        sign_in(page, "sup_county", live_server.password)
        page.goto("/map/?kind=visit&kind=meeting")
        wait_ready(page)
        shot(page, artifacts, name)
        x, y = page.evaluate("""() => { const m = document.getElementById("map").fieldlogMap;
          m.setView([26.5820, 106.7110], 16, {animate: false});
          const p = m.latLngToContainerPoint([26.5820, 106.7110]); return [p.x, p.y]; }""")
        page.wait_for_timeout(300)
        page.get_by_test_id("map").click(position={"x": x, "y": y})
        page.wait_for_timeout(300)
        shot(page, artifacts, name + "-popup")
