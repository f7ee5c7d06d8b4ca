"""Counts read right in English: "1 person", "2 people"; no "Township level level"."""
import json
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from fieldlog.extensions import db

ROOT = Path(__file__).resolve().parent.parent
# A count followed by a noun that has a singular and a plural.
COUNTED_NOUN = re.compile(
    r"(%\((n|num|count|total)\)s|\{n\}) (people|persons?|users?|records?|visits?|meetings?|"
    r"days?|cadres?|entries|entry|photos?|goals?|errors?|problems?|sign-ins?|households?)\b"
    r"|(%\((n|num|count|total)\)s|\{n\}) [a-z-]+\(s\)")
# Limits are configuration numbers, never 1; a back-filling burst has at least five records.
LIMITS = re.compile(r"(at most|at least|Required: |^One of %\(count\)s records created)",
                    re.IGNORECASE)


def test_every_counted_noun_goes_through_ngettext(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-k", "lazy_pgettext:1c,2", "-o", str(pot), "."],
                   cwd=ROOT, check=True)
    with pot.open("rb") as f:
        singular_only = [m.id for m in read_po(f) if isinstance(m.id, str) and m.id]
    bad = [m for m in singular_only if COUNTED_NOUN.search(m) and not LIMITS.search(m)]
    assert bad == [], "use ngettext for these counts: " + "; ".join(bad)


def _english(client, login, username):
    login(username)
    client.get("/lang/en")


def test_one_member_reads_one_person_in_english(client, world, login):
    household = world.h1[0]
    household.member_count = 1
    db.session.commit()
    _english(client, login, "sec1")
    page = client.get(f"/register/?village={household.village_id}").get_data(as_text=True)
    assert "1 person" in page and "1 people" not in page


def test_one_failed_sign_in_reads_in_the_singular(client, world, login):
    world.sec1.failed_logins = 1
    db.session.commit()
    _english(client, login, "admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "1 failed sign-in<" in page or "1 failed sign-in " in page
    assert "1 failed sign-ins" not in page


def test_leave_approvals_name_the_level_once(client, world, login):
    _english(client, login, "sup_t1")
    page = client.get("/leave/approvals").get_data(as_text=True)
    assert "Township level" in page and "level level" not in page


def test_scripts_get_a_singular_for_a_count_of_one(client, world, login):
    _english(client, login, "sec1")
    page = client.get("/m/").get_data(as_text=True)
    strings = json.loads(re.search(r'<script type="application/json" id="i18n">(.*?)</script>',
                                   page, re.S).group(1))
    assert strings["members_n_one"] == "{n} person" and strings["members_n"] == "{n} people"
    assert strings["n_waiting_one"] == "{n} record waiting to send"
    ui = (ROOT / "static/js/ui.js").read_text()
    assert 'strings[`${key}_one`]' in ui  # t() picks the singular when {n} is 1
