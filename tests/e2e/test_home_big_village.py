"""A cadre of a 500-household village: home opens fast and small, finds a household by name."""
from playwright.sync_api import expect

from fieldlog.models import OrgUnit, User
from tests.e2e.test_offline_visit import by_id, sign_in_secretary
from tests.fixtures.big_village import fill_village

SHOTS = "/tmp/shots-home"


def _fill(server, households=500):
    with server.db() as session:
        village = session.scalar(__import__("sqlalchemy").select(OrgUnit).where(
            OrgUnit.code == "V1"))
        author = session.get(User, server.world.sec1_id)
        return fill_village(session, village, author, households)


def test_before(browsing, live_server):
    _fill(live_server)
    page = browsing.phone().new_page()
    sign_in_secretary(page, live_server)
    page.screenshot(path=f"{SHOTS}/before-top.png")
    page.screenshot(path=f"{SHOTS}/before-full.png", full_page=True)
    expect(by_id(page, "unvisited-count")).to_be_visible()
