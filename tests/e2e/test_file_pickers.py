"""The file pickers of the register import and of an inspector's check look like the app's photo
pickers: a big button (the browser's own "Choose File" control hidden), and the name of the
chosen file shown once chosen. Phone 390×844.

Screenshots: test-artifacts/e2e/file-*.png.
"""
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.test_inspector import seed_records, sign_in
from tests.e2e.test_offline_visit import shot

CSV = "户主姓名,门牌号,家庭人口\n张三,1组1号,3\n".encode()


def _check_picker(page, input_testid: str) -> None:
    """The input is hidden behind a big button-like label; its field says nothing is chosen."""
    field = page.locator("[data-file-field]").filter(has=page.get_by_test_id(input_testid))
    expect(field).to_have_count(1)
    box = page.get_by_test_id(input_testid).bounding_box()
    assert box is not None and box["width"] <= 1 and box["height"] <= 1, box  # no native control
    button = field.locator("label.file-btn")
    expect(button).to_be_visible()
    size = button.bounding_box()
    assert size["height"] >= 44 and size["width"] >= 120, size
    expect(field.locator("[data-file-name]")).to_have_attribute("data-chosen", "0")


def test_register_import_picker_shows_the_chosen_file(browsing, live_server, artifacts):
    page = browsing.phone().new_page()
    sign_in(page, "sec1", live_server.password)
    page.goto("/register/")
    _check_picker(page, "import-file")
    shot(page, artifacts, "file-1-register")
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "北堡村户籍台账.csv", "mimeType": "text/csv", "buffer": CSV}])
    name = page.locator("[data-file-field] [data-file-name]")
    expect(name).to_have_text("北堡村户籍台账.csv")
    expect(name).to_have_attribute("data-chosen", "1")
    shot(page, artifacts, "file-2-register-chosen")
    page.get_by_test_id("upload").tap()
    expect(page.get_by_test_id("preview-summary")).to_be_visible()


def test_inspector_photo_picker_counts_the_chosen_photos(browsing, live_server, artifacts,
                                                         photos_dir):
    seed_records(live_server)
    today = datetime.now(UTC).date()
    page = browsing.phone().new_page()
    sign_in(page, "inspector", live_server.password)
    page.goto("/inspect/")
    page.get_by_test_id("draw-start").fill((today - timedelta(days=7)).isoformat())
    page.get_by_test_id("draw-end").fill((today + timedelta(days=1)).isoformat())
    page.get_by_test_id("draw-size").fill("4")
    page.get_by_test_id("draw-submit").click()
    page.wait_for_url("**/inspect/samples/*")
    page.get_by_test_id("open-task").first.click()
    page.wait_for_url("**/inspect/tasks/*")
    _check_picker(page, "outcome-photos")
    photos = sorted(photos_dir.glob("jpg_gps_*.jpg"))[:2]
    page.get_by_test_id("outcome-photos").set_input_files([str(p) for p in photos])
    name = page.locator("[data-file-field] [data-file-name]")
    expect(name).to_have_attribute("data-chosen", "2")
    expect(name).to_contain_text("2")
    expect(name).to_contain_text(photos[0].name)
    shot(page, artifacts, "file-3-task-chosen", show=name)
