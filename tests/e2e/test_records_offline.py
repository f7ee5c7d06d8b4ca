"""Meetings and six-one actions offline, end to end in headless Chromium at a phone viewport.

A secretary opens the meetings list once with signal (the forms get cached), then without signal
minutes a villagers' say with one item raised and a sign-in sheet photo, and records a practical
deed with before and after photos; both wait in the outbox; back online they sync, appear in the
lists and in the database. Then the deed is marked done offline, and version 2 arrives.
"""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import (
    Action,
    Goal,
    GoalLink,
    LedgerItem,
    LedgerLink,
    Meeting,
    Photo,
    RecordVersion,
)
from tests.e2e.test_offline_visit import (
    SYNC_TIMEOUT_MS,
    by_id,
    shot,
    sign_in,
    sign_in_secretary,
    wait_for_db,
)

BEFORE = "jpg_orientation_landscape_3.jpg"
AFTER = "jpg_mobile_HMD_Nokia_8.3_5G.jpg"
SHEET = "jpg_orientation_portrait_6.jpg"


def _warmed(page) -> None:
    """Wait until the list page has cached this area's forms and edit pages."""
    expect(page.locator("html")).to_have_attribute("data-records-warm", "1", timeout=30_000)


def _record_meeting_offline(page, artifacts, photos_dir, household, goal_id) -> None:
    by_id(page, "new-meeting").tap()
    page.wait_for_url("**/m/meetings/new")
    form = page.locator("#record-form")
    expect(form).to_have_attribute("data-ready", "1")
    by_id(page, "type-villagers_say").check()
    expect(by_id(page, "items-card")).to_be_visible()
    by_id(page, "place").fill("村委会院坝")
    by_id(page, "host").fill("张支书")
    by_id(page, "expected-count").fill("40")
    by_id(page, "attended-count").fill("35")
    by_id(page, "topics").fill("听取村民对道路和饮水的意见")
    by_id(page, "decisions").fill("道路问题报乡镇，饮水管道本月内排查")
    page.locator(f'[data-testid=goal-link][value="{goal_id}"]').check()
    shot(page, artifacts, "rec-01-meeting-form-top")
    # Saving with an empty item row that names someone: an inline error, nothing queued.
    by_id(page, "item-household").select_option(household.id)
    by_id(page, "save-record").tap()
    error = page.locator('[data-testid=field-error][data-for="content"]')
    expect(error).to_be_visible()
    expect(by_id(page, "form-error")).to_be_visible()
    shot(page, artifacts, "rec-02-meeting-form-error", show=error)
    by_id(page, "item-content").fill("村口到三组的路灯坏了三盏，晚上出行不便")
    by_id(page, "item-category").select_option("infrastructure")
    by_id(page, "photos-main").set_input_files(photos_dir / SHEET)
    thumb = by_id(page, "photo-thumb")
    expect(thumb).to_have_attribute("data-state", "ready")
    by_id(page, "mark-sign-in").tap()
    expect(thumb).to_have_attribute("data-slot", "sign_in")
    expect(by_id(page, "gps-status")).to_have_attribute("data-state", "ok")
    shot(page, artifacts, "rec-03-meeting-form-items", show=by_id(page, "items-card"))
    shot(page, artifacts, "rec-04-meeting-form-photo", show="bottom")
    by_id(page, "save-record").tap()
    page.wait_for_url("**/m/meetings")


def _record_deed_offline(page, artifacts, photos_dir) -> None:
    by_id(page, "add-practical_deed").tap()
    page.wait_for_url("**/m/actions/new?type=practical_deed")
    expect(page.locator("#record-form")).to_have_attribute("data-ready", "1")
    expect(by_id(page, "type-practical_deed")).to_be_checked()
    expect(by_id(page, "before-after")).to_be_visible()
    by_id(page, "title").fill("修缮三组排水沟")
    by_id(page, "description").fill("雨季三组路面积水，排水沟堵塞")
    by_id(page, "state-under_way").check()
    by_id(page, "photos-before").set_input_files(photos_dir / BEFORE)
    by_id(page, "photos-after").set_input_files(photos_dir / AFTER)
    for slot in ("before", "after"):
        expect(page.locator(f'[data-testid=photo-thumb][data-slot="{slot}"]')).to_have_attribute(
            "data-state", "ready")
    shot(page, artifacts, "rec-06-deed-form-top")
    shot(page, artifacts, "rec-07-deed-form-photos", show=by_id(page, "before-after"))
    by_id(page, "save-record").tap()
    page.wait_for_url("**/m/actions")


def test_meeting_and_deed_offline_then_edit(browsing, live_server, artifacts, photos_dir):
    server = live_server
    artifacts = artifacts / "records"  # a folder of its own: screenshots of this area
    artifacts.mkdir(exist_ok=True)
    household = server.world.households_v1[1]
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)

    # With signal: set a five-one goal (it syncs at once).
    page.goto("/m/actions")
    by_id(page, "new-goal").tap()
    page.wait_for_url("**/m/goals/new")
    expect(page.locator("#record-form")).to_have_attribute("data-ready", "1")
    by_id(page, "save-record").tap()  # nothing chosen yet: inline errors, nothing queued
    expect(by_id(page, "field-error")).to_have_count(2)
    by_id(page, "type-stability").check()
    by_id(page, "title").fill("矛盾纠纷不出村")
    by_id(page, "target").fill("任期内无越级上访、无重大矛盾纠纷")
    shot(page, artifacts, "rec-00-goal-form")
    by_id(page, "save-record").tap()
    page.wait_for_url("**/m/actions")
    goal = wait_for_db(server, lambda s: s.scalar(select(Goal)), timeout=SYNC_TIMEOUT_MS / 1000)
    assert goal is not None
    with server.db() as session:
        goal_id = session.scalar(select(Goal.id))
    # The server has it; wait until the phone has its answer too, or leaving the page now would
    # leave the goal queued (and listed as pending) on the phone.
    expect(page.locator("[data-records-page]")).to_have_attribute(
        "data-pending", "0", timeout=SYNC_TIMEOUT_MS)

    page.goto("/m/meetings")
    _warmed(page)
    expect(by_id(page, "meetings-empty")).to_be_visible()

    # --- no signal ---
    context.set_offline(True)
    _record_meeting_offline(page, artifacts, photos_dir, household, goal_id)
    expect(by_id(page, "toast")).to_be_visible()
    pending = by_id(page, "pending-item")
    expect(pending).to_have_count(2)  # the meeting and the item raised in it
    expect(pending.first).to_have_attribute("data-type", "meeting")
    expect(pending.nth(1)).to_have_attribute("data-type", "ledger_item")
    shot(page, artifacts, "rec-05-meetings-pending")

    page.goto("/m/actions")
    _record_deed_offline(page, artifacts, photos_dir)
    expect(by_id(page, "pending-item")).to_have_count(1)
    shot(page, artifacts, "rec-08-board-pending", full_page=True)

    by_id(page, "tab-outbox").tap()
    page.wait_for_url("**/m/outbox")
    expect(by_id(page, "outbox-item")).to_have_count(3)
    expect(by_id(page, "outbox-photo")).to_have_count(3)
    shot(page, artifacts, "rec-09-outbox-offline", full_page=True)
    with server.db() as session:
        assert session.scalar(select(Meeting.id)) is None

    # --- signal is back ---
    context.set_offline(False)
    expect(by_id(page, "outbox-empty")).to_be_visible(timeout=SYNC_TIMEOUT_MS)
    meeting = wait_for_db(server, lambda s: s.scalar(select(Meeting)))
    with server.db() as session:
        meeting = session.scalar(select(Meeting))
        assert meeting.meeting_type == "villagers_say" and meeting.author_id == server.world.sec1_id
        assert (meeting.expected_count, meeting.attended_count) == (40, 35)
        assert meeting.lat is not None and meeting.place == "村委会院坝"
        item = session.scalar(select(LedgerItem))
        assert item.household_id == household.id and item.category == "infrastructure"
        evidence = session.scalar(select(GoalLink))
        assert (evidence.goal_id, evidence.record_id) == (goal_id, meeting.id)
        link = session.scalar(select(LedgerLink))
        assert (link.item_id, link.record_type, link.record_id) == (item.id, "meeting", meeting.id)
        action = session.scalar(select(Action))
        assert action.action_type == "practical_deed" and action.state == "under_way"
        meeting_id, action_id = meeting.id, action.id
    photos = wait_for_db(server, lambda s: len(s.scalars(select(Photo)).all()) == 3 and s.scalars(
        select(Photo)).all(), timeout=30)
    assert photos, "the photos did not all arrive"
    with server.db() as session:
        slots = {(p.record_type, p.slot) for p in session.scalars(select(Photo))}
    assert slots == {("meeting", "sign_in"), ("action", "before"), ("action", "after")}

    page.goto("/m/meetings")
    row = page.locator(f'[data-testid=meeting-item][data-meeting-id="{meeting_id}"]')
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-status", "submitted")
    expect(row.get_by_test_id("attendance")).to_have_text("35/40")
    shot(page, artifacts, "rec-10-meetings-synced")
    row.tap()
    page.wait_for_url(f"**/review/meetings/{meeting_id}")
    expect(by_id(page, "ledger-item")).to_have_count(1)
    shot(page, artifacts, "rec-11-meeting-detail-phone", full_page=True)

    # --- mark the deed done, offline ---
    page.goto("/m/actions")
    item = page.locator(f'[data-testid=action-item][data-action-id="{action_id}"]')
    expect(item).to_have_attribute("data-version", "1")
    _warmed(page)  # the edit page of the deed is cached now too
    shot(page, artifacts, "rec-12-board-synced", full_page=True)
    context.set_offline(True)
    page.locator(f'.record-row[data-record-id="{action_id}"] [data-testid=edit-action]').tap()
    page.wait_for_url(f"**/m/records/action/{action_id}/edit")
    expect(page.locator("#record-form")).to_have_attribute("data-ready", "1")
    expect(by_id(page, "edit-version")).to_contain_text("1")
    expect(by_id(page, "title")).to_have_value("修缮三组排水沟")
    expect(by_id(page, "state-under_way")).to_be_checked()
    by_id(page, "state-done").check()
    expect(by_id(page, "done-on")).not_to_have_value("")
    by_id(page, "evidence").fill("村民代表验收签字")
    shot(page, artifacts, "rec-13-edit-offline")
    by_id(page, "save-record").tap()
    page.wait_for_url("**/m/actions")
    pending = by_id(page, "pending-item")
    expect(pending).to_have_count(1)
    expect(pending).to_have_attribute("data-record-id", action_id)
    shot(page, artifacts, "rec-14-edit-pending")

    context.set_offline(False)
    # The list reloads itself once the change has gone out.
    expect(page.locator(f'[data-testid=action-item][data-action-id="{action_id}"]')
           ).to_have_attribute("data-version", "2", timeout=SYNC_TIMEOUT_MS)
    expect(page.locator(f'[data-testid=action-item][data-action-id="{action_id}"]')
           ).to_have_attribute("data-state", "done")
    with server.db() as session:
        action = session.get(Action, action_id)
        assert action.version == 2 and action.state == "done" and action.done_on is not None
        assert action.evidence == "村民代表验收签字"
        assert len(session.scalars(select(Photo).where(Photo.record_id == action_id)).all()) == 2
        versions = session.scalars(select(RecordVersion.version).where(
            RecordVersion.record_id == action_id).order_by(RecordVersion.version)).all()
        assert versions == [1, 2]
    shot(page, artifacts, "rec-15-board-version-2", full_page=True)

    # The township supervisor reads both, the deed's photos side by side.
    review = browsing.desktop().new_page()
    sign_in(review, "sup_t1", server.password)
    review.goto(f"/review/actions/{action_id}")
    expect(by_id(review, "before-photos").locator("img")).to_have_count(1)
    expect(by_id(review, "after-photos").locator("img")).to_have_count(1)
    expect(by_id(review, "record-version")).to_have_attribute("data-version", "2")
    expect(by_id(review, "distance-village")).to_be_visible()
    review.wait_for_function("() => [...document.images].every((i) => i.complete)")
    shot(review, artifacts, "rec-16-review-deed", full_page=True)
    review.goto(f"/review/meetings/{meeting_id}")
    expect(review.locator('[data-testid=photo][data-slot="sign_in"]')).to_have_count(1)
    review.wait_for_function("() => [...document.images].every((i) => i.complete)")
    shot(review, artifacts, "rec-17-review-meeting", full_page=True)
    assert re.search(r"35\s*/\s*40", by_id(review, "attendance").inner_text())
