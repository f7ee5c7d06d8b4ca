"""The audit trail reads on a phone: the table scrolls sideways in its card rather than squeezing
its labels to a character a line (seen in docs/screenshots/mended/audit-labels-phone.png)."""
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.test_dashboard import sign_in
from tests.e2e.test_offline_visit import shot


def test_audit_trail_labels_keep_their_words_on_a_phone(browsing, live_server, artifacts):
    page = browsing._context(PHONE).new_page()
    sign_in(page, "admin", live_server.password)
    page.goto("/admin/audit")
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_be_visible()
    # Every action label (登录成功, 设备已登录 …) on one line, the page itself not wider.
    lines = page.evaluate("""() => [...document.querySelectorAll('[data-testid="audit-row"]')]
      .map((row) => {
        const cell = row.children[2], style = getComputedStyle(cell);
        const text = cell.innerText.trim();
        const range = document.createRange();
        range.selectNodeContents(cell);
        return [text, range.getClientRects().length, parseFloat(style.lineHeight)];
      })""")
    assert lines, "no audit rows"
    for text, boxes, _height in lines:
        assert boxes == 1, f"{text!r} is broken over {boxes} lines"
    widths = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in {widths[1]}"
    shot(page, artifacts, "audit-trail-phone")
