"""The 千分制 assessment: a county's rubric, item points, grades, and a cadre's period score.

The rubric is the county setting "scoring_rubric" (default in services/settings.py). Pure
functions (`item_points`, `grade_for`, `validate_rubric`) carry the rules and are unit tested
on their own; `period_scores` joins them to the figures of services/reporting/figures.py and the
supervisors' manual scores.
"""
from dataclasses import dataclass, field
from typing import Any

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from fieldlog.errors import Forbidden, Invalid
from fieldlog.extensions import db
from fieldlog.models import ManualScore, OrgUnit, User
from fieldlog.models.base import utcnow
from fieldlog.services.attendance.monthly import months_between
from fieldlog.services.org.settings import county_id_of, county_setting, set_county_setting
from fieldlog.services.people.audit import record
from fieldlog.services.reporting.figures import cadre_figures
from fieldlog.services.reporting.period import Period
from fieldlog.services.reporting.table import cadre_in_scope

TOTAL = 1000
REASON_MAX = 500
SCORERS = ("supervisor", "admin")  # inspectors read scores; secretaries never see them

# Metric code → (label, lower is better). Count metrics are per month of the period.
METRICS = {
    "days_ratio": (_l("Days in the village ÷ required days"), False),
    "visits_per_month": (_l("Household visits per month"), False),
    "visit_coverage": (_l("Share of households visited this term"), False),
    "key_coverage": (_l("Share of 三老/三户 households visited"), False),
    "six_one": (_l("Share of the six-one actions done"), False),
    "meetings_per_month": (_l("Meetings held per month"), False),
    "ledger_resolution": (_l("Share of ledger items resolved"), False),
    "returned_rate": (_l("Share of records returned by a reviewer"), True),
}
COUNT_METRICS = ("visits_per_month", "meetings_per_month")  # the others are shares (0..1)


@dataclass
class ItemScore:
    code: str
    label: str
    max: float
    points: float
    manual: bool
    metric: str | None = None
    value: float | None = None  # the metric's value (computed items)
    target: float | None = None
    reason: str = ""  # the supervisor's reason (manual items)
    scored_by: str = ""
    scored: bool = True  # False: a manual item nobody has scored yet


@dataclass
class CadreScore:
    cadre: User
    period: str
    items: list[ItemScore] = field(default_factory=list)
    total: float = 0.0
    grade: str = ""
    band: int = 0  # index of the grade band, 0 the highest
    figures: Any = None  # the figures.CadreFigures scored (the figures every page shows)

    @property
    def provisional(self) -> bool:
        """The period still runs: the grade is on the days gone and will change."""
        return bool(self.figures is not None and self.figures.running)

    @property
    def unscored(self) -> list[ItemScore]:
        """Manual items nobody has scored for the period yet."""
        return [i for i in self.items if i.manual and not i.scored]


def label_of(thing: dict, lang: str | None = None) -> str:
    """Return an item's or band's label in `lang` or the UI language (Chinese, else English)."""
    labels = thing.get("label") or {}
    if isinstance(labels, str):
        return labels
    lang = lang or ("zh" if str(get_locale() or "zh").startswith("zh") else "en")
    return labels.get(lang) or labels.get("zh") or labels.get("en") or thing.get("code", "")


def item_points(item: dict, value: float | None) -> float:
    """Return a computed item's points: linear to `max` at `target`, capped at both ends.

    A lower-is-better metric gives full points at or below `target` and none at `zero_at`.
    A missing value (nothing to measure) gives no points.
    """
    spec, top = item["computed"], float(item["max"])
    if value is None:
        return 0.0
    target = float(spec.get("target", 1.0))
    if METRICS.get(spec["metric"], ("", False))[1]:
        zero_at = float(spec.get("zero_at", 1.0))
        share = 1.0 if value <= target else (zero_at - value) / (zero_at - target)
    else:
        share = 1.0 if target <= 0 else value / target
    return round(top * min(1.0, max(0.0, share)), 1)


def grade_for(total: float, bands: list[dict], lang: str | None = None) -> str:
    """Return the label of the first band (highest `min` first) the total reaches."""
    for band in sorted(bands, key=lambda b: -float(b["min"])):
        if total >= float(band["min"]):
            return label_of(band, lang)
    return ""


def check_manual_points(item: dict, points: Any, reason: str) -> float:
    """Validate a manual score for an item; return the points or raise Invalid with fields."""
    errors: dict[str, list[str]] = {}
    if not item.get("manual"):
        raise Invalid(_("This item is computed from the records; it cannot be scored by hand."))
    try:
        value = float(points)
    except (TypeError, ValueError):
        value = None
    if value is None or value != value or not 0 <= value <= float(item["max"]):
        errors["points"] = [_("Points must be a number from 0 to %(max)s.",
                              max=_fmt(item["max"]))]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Give the reason for this score.")]
    elif len(reason) > REASON_MAX:
        errors["reason"] = [_("The reason is longer than %(n)s characters.", n=REASON_MAX)]
    if errors:
        raise Invalid(_("Please correct the marked fields."), fields=errors)
    return round(value, 1)


def _fmt(number: float) -> str:
    return f"{float(number):g}"


def validate_rubric(rubric: Any) -> list[str]:
    """Return every problem of a rubric (empty when it is valid)."""
    if not isinstance(rubric, dict) or not isinstance(rubric.get("items"), list) \
            or not isinstance(rubric.get("bands"), list):
        return [_('The rubric must be an object with an "items" list and a "bands" list.')]
    problems, codes, total = [], set(), 0.0
    for n, item in enumerate(rubric["items"], start=1):
        problems += _item_problems(n, item, codes)
        if isinstance(item, dict) and isinstance(item.get("max"), int | float):
            total += item["max"]
    if not rubric["items"]:
        problems.append(_("The rubric has no items."))
    if abs(total - TOTAL) > 1e-6:
        problems.append(_("The items' maximum points add up to %(sum)s, not %(total)s.",
                          sum=_fmt(total), total=TOTAL))
    problems += _band_problems(rubric["bands"])
    return problems


def _item_problems(n: int, item: Any, codes: set) -> list[str]:
    if not isinstance(item, dict):
        return [_("Item %(n)s is not an object.", n=n)]
    problems = []
    code = item.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 32:
        problems.append(_("Item %(n)s needs a code of 1 to 32 characters.", n=n))
    elif code in codes:
        problems.append(_("The code %(code)s is used twice; codes must be unique.", code=code))
    codes.add(code)
    label = item.get("label")
    if not (isinstance(label, dict) and any(isinstance(v, str) and v.strip()
                                            for v in label.values())):
        problems.append(_('Item %(n)s needs a label, e.g. {"zh": "…", "en": "…"}.', n=n))
    top = item.get("max")
    if not isinstance(top, int | float) or isinstance(top, bool) or top <= 0:
        problems.append(_("Item %(n)s needs maximum points greater than 0.", n=n))
    spec = item.get("computed")
    if bool(item.get("manual")) == (spec is not None):
        problems.append(_('Item %(n)s must be either "computed" (with a metric) or "manual".',
                          n=n))
    elif spec is not None:
        problems += _spec_problems(n, spec)
    return problems


def _spec_problems(n: int, spec: Any) -> list[str]:
    if not isinstance(spec, dict) or spec.get("metric") not in METRICS:
        return [_("Item %(n)s: unknown metric; choose one of %(names)s.", n=n,
                  names=", ".join(METRICS))]
    target = spec.get("target", 1.0)
    if not isinstance(target, int | float) or target < 0:
        return [_("Item %(n)s: the target must be a number of 0 or more.", n=n)]
    if METRICS[spec["metric"]][1]:
        zero_at = spec.get("zero_at", 1.0)
        if not isinstance(zero_at, int | float) or zero_at <= target:
            return [_("Item %(n)s: zero_at must be a number above the target.", n=n)]
    elif target == 0:
        return [_("Item %(n)s: the target must be greater than 0.", n=n)]
    return []


def _band_problems(bands: list) -> list[str]:
    if not bands:
        return [_("The rubric needs at least one grade band.")]
    if not all(isinstance(b, dict) and isinstance(b.get("min"), int | float)
               and label_of(b) and isinstance(b.get("label"), dict) for b in bands):
        return [_('Every band needs a "min" number and a label, e.g. {"zh": "优秀", "en": '
                  '"Excellent"}.')]
    mins = [b["min"] for b in bands]
    problems = []
    if any(a <= b for a, b in zip(mins, mins[1:], strict=False)):
        problems.append(_("Grade bands must be listed from the highest minimum down, each "
                          "lower than the one before."))
    if mins[-1] != 0:
        problems.append(_("The last grade band must start at 0, so every total gets a grade."))
    if mins[0] > TOTAL:
        problems.append(_("No band may start above %(total)s.", total=TOTAL))
    return problems


# --- Rubric of a county ---------------------------------------------------------------


def rubric_for(unit: OrgUnit) -> dict:
    """Return the rubric of the unit's county."""
    return county_setting(unit, "scoring_rubric")


def save_rubric(actor: User, rubric: Any, county: OrgUnit | None = None) -> None:
    """Validate and store a county's rubric (the actor's own by default; audited); Invalid
    lists every problem."""
    problems = validate_rubric(rubric)
    if problems:
        raise Invalid(ngettext("The rubric was not saved: %(num)s problem.",
                               "The rubric was not saved: %(num)s problems.", len(problems)),
                      fields={"rubric": problems})
    county = county or db.session.get(OrgUnit, county_id_of(actor.scope_unit))
    set_county_setting(actor, county, "scoring_rubric", rubric)


# --- Cadres, manual scores and period scores ----------------------------------------------


def set_manual_score(actor: User, cadre_id: int, period: str, item_code: str, points: Any,
                     reason: str) -> ManualScore:
    """Score a manual item for a cadre and period (0..max, with a reason); audited, committed."""
    cadre = cadre_in_scope(actor, cadre_id)
    if actor.role not in SCORERS:
        raise Forbidden(_("Only a supervisor or an administrator may score by hand."))
    item = next((i for i in rubric_for(cadre.scope_unit)["items"] if i["code"] == item_code),
                None)
    if item is None:
        raise Invalid(_("No such item in the rubric."), fields={"item": [_("Unknown item.")]})
    value = check_manual_points(item, points, reason)
    row = db.session.scalar(select(ManualScore).where(
        ManualScore.cadre_id == cadre.id, ManualScore.period == period,
        ManualScore.item_code == item_code))
    before = None if row is None else row.points
    if row is None:
        row = ManualScore(cadre_id=cadre.id, period=period, item_code=item_code)
        db.session.add(row)
    row.points, row.reason, row.scored_by_id, row.scored_at = (
        value, reason.strip(), actor.id, utcnow())
    record("score.manual", actor=actor, object_type="cadre", object_id=cadre.id,
           details={"period": period, "item": item_code, "from": before, "to": value,
                    "reason": reason.strip()})
    db.session.commit()
    return row


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def metric_values(f: Any) -> dict[str, float | None]:
    """Turn a cadre's period figures (figures.CadreFigures) into the rubric's metric values.

    Counts are per month of the window counted (a running month is cut at today), and days
    are measured against the days expected so far, so a score mid-month is fair. A rate with
    nothing to measure (no ledger item raised, no record made) is None: no points, so a cadre
    who records nothing is not rewarded for having nothing returned.
    """
    if f is None:
        return dict.fromkeys(METRICS)
    months = max(months_between(f.start, f.end), 1 / 31)
    key_visited = f.coverage["sanlao"][0] + f.coverage["sanhu"][0]
    key_total = f.coverage["sanlao"][1] + f.coverage["sanhu"][1]
    actions = sum(sum(states.values()) for states in f.actions.values())
    records = f.visits["total"] + f.meetings_total + actions + f.ledger_opened
    resolution = _ratio(f.ledger_resolved, f.ledger_opened)
    return {
        "days_ratio": _ratio(f.days_in_village, f.days_expected or f.days_required),
        "visits_per_month": f.visits["total"] / months,
        "visit_coverage": _ratio(*f.visit_all),
        "key_coverage": _ratio(key_visited, key_total),
        "six_one": f.six_one_done / 6,
        "meetings_per_month": f.meetings_total / months,
        "ledger_resolution": resolution,
        "returned_rate": min(1.0, f.returned / records) if records else None,
    }


def score_cadre(cadre: User, period: str, rubric: dict, values: dict[str, float | None],
                manual: dict[str, ManualScore]) -> CadreScore:
    """Score one cadre: computed items from metric values, manual items from the rows."""
    result = CadreScore(cadre, period)
    for item in rubric["items"]:
        if item.get("manual"):
            row = manual.get(item["code"])
            result.items.append(ItemScore(
                item["code"], label_of(item), item["max"], row.points if row else 0.0, True,
                reason=row.reason if row else "",
                scored_by=row.scored_by.display_name if row else "", scored=row is not None))
        else:
            spec = item["computed"]
            value = values.get(spec["metric"])
            result.items.append(ItemScore(
                item["code"], label_of(item), item["max"], item_points(item, value), False,
                metric=spec["metric"], value=value, target=spec.get("target")))
    result.total = round(sum(i.points for i in result.items), 1)
    result.grade = grade_for(result.total, rubric["bands"])
    result.band = sum(1 for b in rubric["bands"] if result.total < float(b["min"]))
    return result


def period_scores(user_ids: list[int], period: Period) -> list[CadreScore]:
    """Score the cadres for a period; ordered by total, highest first, then by name."""
    cadres = list(db.session.scalars(select(User).where(User.id.in_(user_ids))))
    figures = cadre_figures([c.id for c in cadres], period)
    manual: dict[int, dict[str, ManualScore]] = {}
    for row in db.session.scalars(select(ManualScore).where(
            ManualScore.cadre_id.in_(user_ids), ManualScore.period == period.key)):
        manual.setdefault(row.cadre_id, {})[row.item_code] = row
    rubrics: dict[int, dict] = {}
    scores = []
    for cadre in cadres:
        county = county_id_of(cadre.scope_unit)
        if county not in rubrics:
            rubrics[county] = rubric_for(cadre.scope_unit)
        values = metric_values(figures.get(cadre.id))
        score = score_cadre(cadre, period.key, rubrics[county], values, manual.get(cadre.id, {}))
        score.figures = figures.get(cadre.id)
        scores.append(score)
    return sorted(scores, key=lambda s: (-s.total, s.cadre.display_name))
