"""Flag sentences read like people speak: a long gap in years and days, not 158,782.3 hours."""
import json

import pytest
from flask_babel import force_locale

from fieldlog.models import Flag
from fieldlog.services.integrity import rules
from fieldlog.services.integrity.text import describe, humanize_hours


def _exif_time(hours: float) -> Flag:
    return Flag(kind=rules.EXIF_TIME, params=json.dumps({
        "photo_id": "p", "taken_at": "2008-11-04T09:30:00", "hours": hours, "limit_hours": 3.0}))


@pytest.mark.parametrize(("hours", "english", "chinese"), [
    (158782.3, "18 years 46 days", "18 年 46 天"),
    (8760.0, "1 year", "1 年"),
    (49.0, "2 days 1 hour", "2 天 1 小时"),
    (24.0, "1 day", "1 天"),
    (3.0, "3 hours", "3 小时"),
    (1.0, "1 hour", "1 小时"),
    (0.5, "30 minutes", "30 分钟"),
])
def test_hours_read_in_years_days_hours_in_both_languages(app, hours, english, chinese):
    with app.test_request_context():
        with force_locale("en"):
            assert humanize_hours(hours) == english
        with force_locale("zh_Hans_CN"):
            assert humanize_hours(hours) == chinese


def test_a_photo_taken_years_before_the_visit_says_so_in_years(app):
    with app.test_request_context():
        with force_locale("zh_Hans_CN"):
            text = describe(_exif_time(-158782.3))
        assert "18 年 46 天" in text and "158,782" not in text and "3 小时" in text
        with force_locale("en"):
            text = describe(_exif_time(-158782.3))
        assert "18 years 46 days before the visit time" in text and "more than 3 hours" in text
        with force_locale("en"):
            assert "5 hours after the visit time" in describe(_exif_time(5.2))
