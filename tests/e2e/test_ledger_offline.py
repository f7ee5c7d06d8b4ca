"""The villagers' issue ledger on a phone (390×844), offline: a request heard in a visit becomes
an item; the secretary moves it on without signal; the server keeps its history.
Screenshots go to test-artifacts/e2e/ledger-*.png.
"""
from playwright.sync_api import expect
from sqlalchemy import func, select

from fieldlog.models import LedgerEvent, LedgerItem, LedgerLink, Visit
from tests.e2e.test_offline_visit import (
    SYNC_TIMEOUT_MS,
    by_id,
    choose_household,
    key_household,
    open_visit_form,
    shot,
    sign_in,
    sign_in_secretary,
    wait_for_db,
)

REQUEST = "屋后排水沟堵塞，雨天积水进屋，希望村里帮忙疏通。"


def test_request_becomes_an_item_moved_on_offline(browsing, live_server, artifacts):
    server = live_server
    household = key_household(server, "hardship")
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)
    page.goto("/m/ledger")  # online once, so the list is there offline too
    expect(by_id(page, "ledger-empty")).to_be_visible()

    # 1. Offline: a visit with a request; the ledger switch is on by default.
    context.set_offline(True)
    page.goto("/m/")
    open_visit_form(page)
    choose_household(page, household.head_name[-3:], household)
    by_id(page, "heard").fill("老人说雨季屋里进水。")
    expect(by_id(page, "ledger-offer")).to_be_hidden()
    by_id(page, "requests").fill(REQUEST)
    offer = by_id(page, "ledger-offer")
    expect(offer).to_be_visible()
    expect(by_id(page, "ledger-add")).to_be_checked()
    expect(offer).to_have_attribute("data-mode", "new")
    offer.get_by_test_id("ledger-cat-infrastructure").tap()
    shot(page, artifacts, "ledger-01-visit-form-offer", show=offer)
    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "waiting")

    # 2. Back online: the visit goes first, then its item.
    context.set_offline(False)
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty",
                                                         timeout=SYNC_TIMEOUT_MS)
    with server.db() as session:
        item = session.scalars(select(LedgerItem)).one()
        visit = session.scalars(select(Visit)).one()
        assert (item.household_id, item.content, item.category) == (
            household.id, REQUEST, "infrastructure")
        link = session.scalars(select(LedgerLink)).one()
        assert (link.item_id, link.record_type, link.record_id) == (item.id, "visit", visit.id)
        item_id = item.id

    # 3. The same household asks again in a later visit: link it to the open item.
    page.goto(f"/m/visits/new?household={household.id}")
    expect(page.locator("#visit-form")).to_have_attribute("data-ready", "1")
    by_id(page, "requests").fill("排水沟的事还没解决。")
    choice = by_id(page, "ledger-link-item")
    expect(choice).to_have_count(1)
    choice.tap()
    expect(by_id(page, "ledger-offer")).to_have_attribute("data-mode", "link")
    shot(page, artifacts, "ledger-02-visit-form-link", show=by_id(page, "ledger-offer"))
    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")
    assert wait_for_db(server, lambda s: s.scalar(select(func.count()).select_from(LedgerLink)
                                                  .where(LedgerLink.item_id == item_id)) == 2,
                       timeout=30), "the second visit was not linked to the item"

    # 4. The list, then the item (both cached for offline use by visiting them online).
    page.goto("/m/ledger")
    row = page.locator(f'[data-testid=ledger-item][data-item-id="{item_id}"]')
    expect(row).to_have_attribute("data-state", "open")
    shot(page, artifacts, "ledger-03-list")
    row.locator("a").tap()
    page.wait_for_url(f"**/m/ledger/{item_id}")
    expect(page.locator("body")).to_have_attribute("data-ledger-ready", "1")
    expect(by_id(page, "ledger-source")).to_have_count(2)

    # 5. Offline: start handling, then resolve it with a note.
    context.set_offline(True)
    served_before = len(server.hits)
    by_id(page, "ledger-to-in_progress").tap()
    expect(page.locator("body")).to_have_attribute("data-ledger-state", "in_progress")
    expect(by_id(page, "ledger-pending-pill")).to_be_visible()
    by_id(page, "ledger-note").fill("已联系村委会，周五前疏通。")
    by_id(page, "ledger-to-resolved").tap()
    expect(page.locator("body")).to_have_attribute("data-ledger-state", "resolved")
    expect(by_id(page, "ledger-local-event")).to_have_count(2)
    expect(by_id(page, "ledger-to-feedback")).to_be_visible()
    shot(page, artifacts, "ledger-04-item-offline", full_page=True)
    response = page.reload()  # offline reload: page from the cache, changes from the outbox
    assert response is not None and response.from_service_worker
    expect(page.locator("body")).to_have_attribute("data-ledger-state", "resolved")
    page.goto("/m/ledger")
    expect(row).to_have_attribute("data-state", "resolved")
    by_id(page, "chip-done").tap()
    expect(row).to_be_visible()
    shot(page, artifacts, "ledger-05-list-offline-done")
    leaked = [hit for hit in server.hits[served_before:] if hit != "GET /sw.js"]
    assert leaked == [], "a request got through while offline"
    with server.db() as session:
        assert session.get(LedgerItem, item_id).state == "open"

    # 6. Online again: the updates reach the server in order, with their history.
    context.set_offline(False)

    def resolved(session):
        found = session.get(LedgerItem, item_id)
        return found is not None and found.state == "resolved"

    assert wait_for_db(server, resolved, timeout=60), "the updates did not reach the server"
    with server.db() as session:
        events = session.scalars(select(LedgerEvent).where(LedgerEvent.item_id == item_id)
                                 .order_by(LedgerEvent.occurred_at)).all()
        states = [(e.from_state, e.to_state) for e in events if e.to_state]
        assert states == [("open", "in_progress"), ("in_progress", "resolved")]
        assert any(e.note == "已联系村委会，周五前疏通。" for e in events)
    page.goto(f"/m/ledger/{item_id}")
    expect(page.locator("body")).to_have_attribute("data-ledger-state", "resolved")
    history = by_id(page, "ledger-history")
    expect(history.locator("[data-to-state=resolved]")).to_have_count(1)
    expect(history.locator("[data-to-state=in_progress]")).to_have_count(1)
    expect(by_id(page, "ledger-local")).to_be_hidden()  # the server's history has them now
    shot(page, artifacts, "ledger-06-item-history", full_page=True)

    # 7. The township supervisor sees it, with its history, on the web.
    web = browsing.desktop().new_page()
    sign_in(web, "sup_t1", server.password)
    web.goto("/ledger")
    expect(web.get_by_test_id("ledger-row")).to_have_count(1)
    expect(web.get_by_test_id("count-resolved")).to_have_attribute("data-count", "1")
    shot(web, artifacts, "ledger-07-web-list")
    web.get_by_test_id("ledger-row").first.locator("a").first.click()
    web.wait_for_url(f"**/ledger/{item_id}")
    expect(web.get_by_test_id("ledger-event")).to_have_count(4)  # entered, linked, 2 moves
    shot(web, artifacts, "ledger-08-web-item", full_page=True)


def test_new_item_entered_directly_offline(browsing, live_server, artifacts):
    server = live_server
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)
    page.goto("/m/ledger")
    page.goto("/m/ledger/new")
    expect(by_id(page, "ledger-form")).to_have_attribute("data-ready", "1")
    context.set_offline(True)
    by_id(page, "ledger-raiser").fill("三组村民")
    by_id(page, "ledger-content-input").fill("希望在三组路口安装路灯。")
    by_id(page, "ledger-cat-infrastructure").tap()
    by_id(page, "ledger-handler-select").select_option("township")
    shot(page, artifacts, "ledger-09-new-item", full_page=True)
    by_id(page, "ledger-save").tap()
    page.wait_for_url("**/m/ledger")
    pending = by_id(page, "ledger-pending-item")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("路灯")
    shot(page, artifacts, "ledger-10-list-pending-new")
    context.set_offline(False)
    item = wait_for_db(server, lambda s: s.scalars(select(LedgerItem)).first(), timeout=60)
    assert item is not None and item.raiser_name == "三组村民" and item.handler == "township"
    assert item.household_id is None
    expect(pending).to_have_count(0, timeout=SYNC_TIMEOUT_MS)
