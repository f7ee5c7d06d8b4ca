"""A gallery photo taken long ago or far from the village: the phone asks gently, never blocks.

The Nikon sample was taken in 2008 in Tuscany, about 8,400 km from the test village; the
server would flag it (EXIF time and place, services/integrity_rules.py). An honest cadre who
picked the wrong picture hears it before saving, and can keep it or remove it.
"""
import re

from playwright.sync_api import expect

from tests.e2e.test_offline_visit import by_id, open_visit_form, shot, sign_in_secretary

GALLERY = "jpg_gps_DSCN0010.jpg"  # EXIF 2008-10-22 16:28:39, GPS 43°28'N 11°53'E
NEARBY = "jpg_orientation_portrait_6.jpg"  # no EXIF time or GPS: nothing to say


def test_old_far_gallery_photo_gets_a_gentle_question(browsing, live_server, artifacts, photos_dir):
    server = live_server
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)
    context.clear_permissions()  # no fix: the photo's place is compared with the village centre
    open_visit_form(page)
    expect(by_id(page, "gps-status")).to_have_attribute("data-state", "failed")
    by_id(page, "household-search").fill(server.world.households_v1[0].head_name)
    by_id(page, "household-item").first.tap()

    by_id(page, "photo-input").set_input_files(photos_dir / NEARBY)
    expect(by_id(page, "photo-thumb")).to_have_attribute("data-state", "ready")
    expect(by_id(page, "photo-check")).to_have_count(0)

    by_id(page, "photo-input").set_input_files(photos_dir / GALLERY)
    expect(by_id(page, "photo-thumb")).to_have_count(2)
    check = by_id(page, "photo-check")
    expect(check).to_have_count(1)
    expect(check).to_contain_text("2008 年")
    expect(check).to_contain_text(re.compile(r"离本村 8,[34]\d\d 公里"))
    expect(check).to_contain_text("确定使用吗")
    check.scroll_into_view_if_needed()
    shot(page, artifacts, "photo-check-question", show=check)

    # Never blocking: kept, it is saved with the visit; the question goes away.
    by_id(page, "photo-check-keep").tap()
    expect(check).to_have_count(0)
    expect(by_id(page, "photo-thumb")).to_have_count(2)

    # Picked again by mistake: remove it from the question itself.
    by_id(page, "photo-input").set_input_files(photos_dir / GALLERY)
    expect(by_id(page, "photo-thumb")).to_have_count(3)
    expect(check).to_have_count(1)
    by_id(page, "photo-check-remove").tap()
    expect(check).to_have_count(0)
    expect(by_id(page, "photo-thumb")).to_have_count(2)

    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")


def test_with_a_fix_the_place_is_compared_with_it_in_the_page_language(
        browsing, live_server, artifacts, photos_dir):
    server = live_server
    page = browsing.phone().new_page()
    sign_in_secretary(page, server)
    page.goto("/lang/en")
    open_visit_form(page)
    expect(by_id(page, "gps-status")).to_have_attribute("data-state", "ok")
    by_id(page, "photo-input").set_input_files(photos_dir / GALLERY)
    check = by_id(page, "photo-check")
    expect(check).to_contain_text("taken in 2008")
    expect(check).to_contain_text(re.compile(r"8,[34]\d\d km from where you are"))
    shot(page, artifacts, "photo-check-question-en", show=check)
