"""Who sees a household's full number: the village's secretary in the register (phone), with a
reason; an admin exports the full register with a reason (desktop); a supervisor sees a masked
number on a visit. Screenshots: test-artifacts/e2e/register-privacy/*.png (look at them).
"""
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import AuditEntry, Household, User, Visit
from fieldlog.services.people.privacy import mask_phone
from tests.e2e.test_exports import sign_in


def shot(page, artifacts, name: str) -> None:
    folder = artifacts / "register-privacy"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, animations="disabled",
                    caret="initial")


def test_secretary_reveals_in_the_register_and_others_see_it_masked(browsing, live_server,
                                                                    artifacts):
    server = live_server
    home = server.world.households_v1[0]
    with server.db() as session:
        phone = session.get(Household, home.id).phone
        sec1 = session.scalar(select(User).where(User.username == "sec1"))
        village_id = sec1.scope_unit_id
        when = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
        visit_id = str(uuid.uuid4())
        session.add(Visit(id=visit_id, author_id=sec1.id, village_id=sec1.scope_unit_id,
                          household_id=home.id, occurred_at=when, device_created_at=when,
                          heard="家里老人腿脚不便，希望办理残疾证。", requests="协助办理残疾证",
                          lat=26.5806, lon=106.7104, accuracy_m=15, content_hash="0" * 64))
        session.commit()

    # The village's secretary, on the phone: masked in the register, shown once for a reason.
    page = browsing.phone().new_page()
    sign_in(page, "sec1", server.password)
    page.goto(f"/register/households/{home.id}")
    expect(page.get_by_test_id("reveal-form")).to_be_visible()
    assert phone not in page.content()
    page.locator("#reveal-reason").fill("回电告知诉求办理进展")
    shot(page, artifacts, "00-secretary-household-masked")
    page.get_by_test_id("reveal").click()
    expect(page.get_by_test_id("phone-full")).to_contain_text(phone)
    shot(page, artifacts, "01-secretary-reveal-phone")

    # A supervisor: the visit shows the number masked, with no way to reveal it.
    desk = browsing.desktop().new_page()
    sign_in(desk, "sup_t1", server.password)
    desk.goto(f"/review/visits/{visit_id}")
    expect(desk.get_by_test_id("phone-masked")).to_have_text(mask_phone(phone))
    expect(desk.get_by_test_id("phone-masked-note")).to_be_visible()
    assert phone not in desk.content()
    shot(desk, artifacts, "02-supervisor-visit-masked")

    # An admin: the register page offers the full export only with a reason.
    admin = browsing.desktop().new_page()
    sign_in(admin, "admin", server.password)
    admin.goto(f"/register/?village={village_id}")
    admin.get_by_test_id("full-export").locator("summary").click()
    admin.locator("#full-export-reason").fill("向新一届村两委移交台账")
    shot(admin, artifacts, "03-admin-full-export")
    with admin.expect_download() as caught:
        admin.get_by_test_id("full-export-submit").click()
    assert caught.value.suggested_filename.endswith("-full.xlsx")
    with server.db() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.in_(("phone.reveal", "export.register_full")))))
    assert sorted(actions) == ["export.register_full", "phone.reveal"]
