"""A record without a title is called by its type and date wherever it is shown, never a blank."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from tests.test_meetings import _times, ledger_payload, meeting_payload
from tests.test_sync_api import sync


def _untitled_meeting(world, device) -> tuple[dict, str]:
    phone = device(world.sec1)
    meeting = meeting_payload(meeting_type="branch_committee", title="", **_times(1))
    item = ledger_payload(meeting["id"])
    answers = sync(phone, meeting, item)
    assert [a["status"] for a in answers] == ["stored", "stored"], answers
    day = (datetime.now(UTC) - timedelta(hours=1)).astimezone(ZoneInfo("Asia/Shanghai")).date()
    name = f"支委会 · {format_date(day, 'medium', locale='zh_CN')}"
    return {"meeting": meeting, "item": item}, name


def test_untitled_meeting_is_named_by_type_and_date_on_every_page(world, device, login, client):
    records, name = _untitled_meeting(world, device)
    meeting_id, item_id = records["meeting"]["id"], records["item"]["id"]
    login("sup_t1")
    pages = {
        "cadre page": f"/progress/cadre/{world.sec1.id}",
        "meeting page": f"/review/meetings/{meeting_id}",
        "ledger item": f"/ledger/{item_id}",
        "history": f"/review/records/meeting/{meeting_id}/history",
    }
    for what, url in pages.items():
        page = client.get(url).get_data(as_text=True)
        assert name in page, what
        assert "会议 · —" not in page, what
    login("sec1")
    for what, url in {"phone list": "/m/meetings", "phone ledger": f"/m/ledger/{item_id}"}.items():
        page = client.get(url).get_data(as_text=True)
        assert name in page, what
