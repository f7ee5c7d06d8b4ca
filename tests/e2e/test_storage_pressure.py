"""Storage pressure (issue 12): a full phone says so and keeps the form; persistence is asked once.

IndexedDB's put raises QuotaExceededError (what a full phone raises), so saving a visit fails.
"""
from playwright.sync_api import expect

from tests.e2e.test_offline_visit import (
    PORTRAIT,
    by_id,
    choose_household,
    key_household,
    open_visit_form,
    shot,
    sign_in_secretary,
)


def test_a_full_phone_keeps_the_form_and_says_why(browsing, live_server, artifacts, photos_dir):
    server = live_server
    household = key_household(server, "hardship")
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)
    open_visit_form(page)
    choose_household(page, household.head_name[-3:], household)
    by_id(page, "heard").fill("屋顶漏雨，需要修缮。")
    by_id(page, "photo-input").set_input_files(photos_dir / PORTRAIT)
    expect(by_id(page, "photo-thumb")).to_have_attribute("data-state", "ready")

    # The phone is full. Chromium here does not enforce a CDP quota override on IndexedDB
    # writes (Storage.overrideQuotaForOrigin with 1 byte still stores), so the write raises the
    # DOMException a full disk raises: QuotaExceededError, from the real IndexedDB put.
    page.evaluate("""() => {
        const put = IDBObjectStore.prototype.put;
        window.__realPut = put;
        IDBObjectStore.prototype.put = function full(...args) {
            if (this.name === 'outbox') {
                throw new DOMException('Quota exceeded', 'QuotaExceededError');
            }
            return put.apply(this, args);
        };
    }""")
    by_id(page, "save-visit").tap()
    error = page.locator("#form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("存储空间已满")
    assert "/m/visits/new" in page.url
    expect(by_id(page, "heard")).to_have_value("屋顶漏雨，需要修缮。")  # nothing typed is lost
    assert page.evaluate("""() => new Promise((resolve) => {
        const req = indexedDB.open('fieldlog');
        req.onsuccess = () => { const all = req.result.transaction('outbox')
            .objectStore('outbox').getAll(); all.onsuccess = () => resolve(all.result.length); };
    })""") == 0
    shot(page, artifacts, "storage-full-visit-form", show=error)

    page.evaluate("() => { IDBObjectStore.prototype.put = window.__realPut; }")  # space freed
    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")
    by_id(page, "tab-outbox").tap()
    page.wait_for_url("**/m/outbox")
    note = by_id(page, "storage-persist")
    expect(note).to_be_visible()
    granted = page.evaluate("() => navigator.storage.persisted()")
    expect(note).to_have_attribute("data-state", "granted" if granted else "denied")
    expect(note).to_contain_text("持久")
    asked = page.evaluate("""() => new Promise((resolve) => {
        const req = indexedDB.open('fieldlog');
        req.onsuccess = () => { const r = req.result.transaction('meta').objectStore('meta')
            .get('storage-persist'); r.onsuccess = () => resolve(r.result || null); };
    })""")
    assert asked is not None or granted  # asked once after sign-in, the answer kept
    shot(page, artifacts, "storage-persist-outbox", full_page=True)
