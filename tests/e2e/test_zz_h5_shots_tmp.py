from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_dashboard import sign_in
from tests.e2e.test_history import edited_meeting


def test_shots(browsing, live_server, artifacts):
    folder = artifacts / "h5"
    folder.mkdir(exist_ok=True)
    edited_meeting(live_server)
    desk = browsing._context({**DESKTOP, "viewport": {"width": 1366, "height": 900}}).new_page()
    sign_in(desk, "admin", live_server.password)
    for name, url in (("404", "/progress/nothing"), ("account", "/account"),
                      ("audit", "/admin/audit"), ("users", "/admin/users"),
                      ("register", "/register/")):
        desk.goto(url)
        desk.screenshot(path=str(folder / f"desk-{name}.png"), full_page=True)
    phone = browsing._context(PHONE).new_page()
    sign_in(phone, "sup_t1", live_server.password)
    phone.goto("/review/nothing")
    phone.screenshot(path=str(folder / "phone-404.png"), full_page=True)
    anon = browsing._context(PHONE).new_page()
    anon.goto("/nothing-here")
    anon.screenshot(path=str(folder / "anon-404.png"), full_page=True)
