"""Plain-language sentences for integrity flags, with their numbers, in the reader's language."""
from __future__ import annotations

import json
from datetime import datetime

from flask_babel import format_datetime, format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from fieldlog.models import Flag
from fieldlog.services.integrity import rules
from fieldlog.templating import format_distance

KIND_LABELS = {
    rules.FAR_FROM_VILLAGE: _l("Far from the village"),
    rules.FAR_FROM_HOUSEHOLD: _l("Far from the household"),
    rules.NO_LOCATION: _l("No location"),
    rules.IMPOSSIBLE_TRAVEL: _l("Impossible travel"),
    rules.BACKFILL: _l("Back-filled"),
    rules.EXIF_TIME: _l("Photo time differs"),
    rules.EXIF_PLACE: _l("Photo place differs"),
    rules.NO_EXIF: _l("Photo without camera data"),
    rules.DUPLICATE_PHOTO: _l("Reused photo"),
    rules.CLOCK_OFF: _l("Phone clock off"),
}


def kind_label(kind: str) -> str:
    """Return the short name of a flag kind, for a badge or a table column."""
    return str(KIND_LABELS.get(kind, kind))


def _num(value: float) -> str:
    return format_decimal(value)


def _accuracy(params: dict) -> str:
    accuracy = params.get("accuracy_m")
    return format_distance(accuracy) if accuracy is not None else _("unknown")


def _units(count: int, unit: str) -> str:
    if unit == "year":
        return ngettext("%(num)s year", "%(num)s years", count)
    if unit == "day":
        return ngettext("%(num)s day", "%(num)s days", count)
    if unit == "hour":
        return ngettext("%(num)s hour", "%(num)s hours", count)
    return ngettext("%(num)s minute", "%(num)s minutes", count)


def humanize_hours(hours: float) -> str:
    """Say a length of time in its two largest units: "18 years 46 days", "2 days 1 hour"."""
    hours = abs(hours)
    if hours < 1:
        return _units(max(1, round(hours * 60)), "minute")
    if hours < 24:
        return _units(round(hours), "hour")
    days = hours / 24
    if days < 365:
        whole, rest = int(days), round((days - int(days)) * 24)
        whole, rest = (whole + 1, 0) if rest == 24 else (whole, rest)
        return " ".join([_units(whole, "day")] + ([_units(rest, "hour")] if rest else []))
    years = int(days // 365)
    rest = round(days - years * 365)
    years, rest = (years + 1, 0) if rest == 365 else (years, rest)
    return " ".join([_units(years, "year")] + ([_units(rest, "day")] if rest else []))


def _when(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso), "short")


def describe(flag: Flag) -> str:
    """Return the sentence that explains a flag with its numbers."""
    p = json.loads(flag.params or "{}")
    kind = flag.kind
    if kind == rules.FAR_FROM_VILLAGE and p.get("boundary"):
        return _("Recorded %(distance)s outside %(village)s's boundary (GPS accuracy "
                 "%(accuracy)s).", distance=format_distance(p["distance_m"]),
                 village=p["village"], accuracy=_accuracy(p))
    if kind == rules.FAR_FROM_VILLAGE:
        return _("Recorded %(distance)s from %(village)s's centre (GPS accuracy %(accuracy)s); "
                 "geofence %(radius)s.", distance=format_distance(p["distance_m"]),
                 village=p["village"], accuracy=_accuracy(p),
                 radius=format_distance(p["radius_m"]))
    if kind == rules.FAR_FROM_HOUSEHOLD:
        return _("Recorded %(distance)s from the household's location in the register (GPS "
                 "accuracy %(accuracy)s); more than %(limit)s away.",
                 distance=format_distance(p["distance_m"]), accuracy=_accuracy(p),
                 limit=format_distance(p["limit_m"]))
    if kind == rules.NO_LOCATION:
        return _("No location was recorded with this visit.")
    if kind == rules.IMPOSSIBLE_TRAVEL:
        if p.get("speed_kmh") is None:
            return _("Recorded %(distance)s from the same cadre's record at the same time "
                     "(%(other)s).", distance=format_distance(p["distance_m"]),
                     other=_when(p["other_at"]))
        return _("Recorded %(distance)s from the same cadre's record of %(other)s, %(minutes)s "
                 "minutes apart: that needs %(speed)s km/h, faster than the %(limit)s km/h "
                 "anyone travels here.", distance=format_distance(p["distance_m"]),
                 other=_when(p["other_at"]), minutes=_num(round(p["seconds"] / 60)),
                 speed=_num(p["speed_kmh"]), limit=_num(p["limit_kmh"]))
    if kind == rules.BACKFILL:
        return _("One of %(count)s records created on the phone within %(minutes)s minutes "
                 "that claim visit times spread over %(days)s days.", count=_num(p["count"]),
                 minutes=_num(p["minutes"]), days=_num(p["days"]))
    if kind == rules.EXIF_TIME:
        args = {"taken": p["taken_at"].replace("T", " ")[:16],
                "duration": humanize_hours(p["hours"]),
                "limit": humanize_hours(p["limit_hours"])}
        if p["hours"] > 0:
            return _("A photo's camera time (%(taken)s) is %(duration)s after the visit time; "
                     "more than %(limit)s apart.", **args)
        return _("A photo's camera time (%(taken)s) is %(duration)s before the visit time; "
                 "more than %(limit)s apart.", **args)
    if kind == rules.EXIF_PLACE:
        if p.get("against") == "village":
            return _("A photo was taken %(distance)s from %(village)s's centre, and the visit "
                     "has no GPS fix; more than %(limit)s beyond the geofence.",
                     distance=format_distance(p["distance_m"]), village=p["village"],
                     limit=format_distance(p["limit_m"]))
        return _("A photo was taken %(distance)s from where the visit was recorded (GPS "
                 "accuracy %(accuracy)s); more than %(limit)s apart.",
                 distance=format_distance(p["distance_m"]), accuracy=_accuracy(p),
                 limit=format_distance(p["limit_m"]))
    if kind == rules.NO_EXIF:
        return _("Photos with no camera time, place or camera, as screenshots and forwarded "
                 "images have: %(count)s of %(total)s.", count=_num(p["count"]),
                 total=_num(p["total"]))
    if kind == rules.DUPLICATE_PHOTO:
        if p.get("same_author"):
            return _("A photo is the same as, or nearly the same as (%(bits)s of 64 bits "
                     "differ), a photo on this cadre's visit of %(date)s.",
                     bits=_num(p["bits"]), date=p["other_date"])
        return _("A photo is the same as, or nearly the same as (%(bits)s of 64 bits differ), "
                 "a photo on %(author)s's visit of %(date)s.", bits=_num(p["bits"]),
                 author=p["other_author"], date=p["other_date"])
    if kind == rules.CLOCK_OFF:
        duration = humanize_hours(p["hours"])
        if p["hours"] > 0:
            return _("The phone's clock was %(duration)s ahead of the server's when this visit "
                     "was sent; its times are shown on the server's clock.", duration=duration)
        return _("The phone's clock was %(duration)s behind the server's when this visit was "
                 "sent; its times are shown on the server's clock.", duration=duration)
    return kind_label(kind)
