"""The history of a record fits the screen with long text, and marks the words that changed.

Desktop 1366×900 and phone 390×844; screenshots in test-artifacts/e2e/history/.
"""
from types import SimpleNamespace

from fieldlog.models import User
from fieldlog.services.people.auth import issue_device_token
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_dashboard import sign_in
from tests.test_meetings import meeting_payload
from tests.test_sync_api import sync

# Long Chinese with no spaces, a long URL and a long number: nothing a browser breaks by itself.
OLD_TOPICS = ("学习贯彻上级关于乡村振兴和基层党建工作的文件精神，讨论本村通组路硬化、人居环境整治、"
              "产业发展和发展党员等事项，" * 6 + "资料见https://example.org/village/meetings/"
              "2026/minutes-of-the-branch-committee-with-a-very-long-path-and-no-spaces.pdf")
NEW_TOPICS = OLD_TOPICS.replace("通组路硬化", "通组路硬化和饮水安全").replace(
    "发展党员", "发展两名入党积极分子")
OLD_DECISIONS = "确定两名积极分子，报乡党委备案。编号1234567890123456789012345678901234567890"
NEW_DECISIONS = "确定三名积极分子，报乡党委备案。编号1234567890123456789012345678901234567890"


def edited_meeting(server) -> str:
    """A meeting with long text, then an edit of it by its author; return its id."""
    with server.db() as session:
        _token, raw = issue_device_token(session.get(User, server.world.sec1_id), "e2e")
    client = server.app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    phone = SimpleNamespace(post=lambda url, **kw: client.post(url, headers=headers, **kw))
    meeting = meeting_payload(topics=OLD_TOPICS, decisions=OLD_DECISIONS)
    with server.app.app_context():
        [first] = sync(phone, meeting)
        [second] = sync(phone, {**meeting, "topics": NEW_TOPICS, "decisions": NEW_DECISIONS,
                                "base_version": 1})
    assert (first["status"], second["version"]) == ("stored", 2), (first, second)
    return meeting["id"]


def test_history_fits_desktop_and_phone_and_marks_changed_words(browsing, live_server,
                                                                 artifacts):
    meeting_id = edited_meeting(live_server)
    folder = artifacts / "history"
    folder.mkdir(exist_ok=True)
    for name, options in (("desktop", {**DESKTOP, "viewport": {"width": 1366, "height": 900}}),
                          ("phone", PHONE)):
        page = browsing._context(options).new_page()
        sign_in(page, "sup_t1", live_server.password)
        page.goto(f"/review/records/meeting/{meeting_id}/history")
        widths = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        page.screenshot(path=str(folder / f"history-{name}.png"), full_page=True,
                        animations="disabled", caret="initial")
        assert widths[0] <= widths[1], f"{name}: the page is {widths[0]} px wide in {widths[1]}"
        topics = page.locator('[data-testid="diff-row"][data-field="topics"]')
        inserted = topics.locator('[data-testid="diff-new"] ins').all_inner_texts()
        # 发展[两名入]党[积极分子]: 党员 lost its 员
        assert inserted[:3] == ["和饮水安全", "两名入", "积极分子"]
        assert set(topics.locator('[data-testid="diff-old"] del').all_inner_texts()) == {"员"}
        decisions = page.locator('[data-testid="diff-row"][data-field="decisions"]')
        assert decisions.locator('[data-testid="diff-old"] del').all_inner_texts() == ["两"]
        assert decisions.locator('[data-testid="diff-new"] ins').all_inner_texts() == ["三"]
        after = decisions.locator('[data-testid="diff-new"]').bounding_box()
        assert after["x"] + after["width"] <= widths[1], f"{name}: the after column is cut off"
