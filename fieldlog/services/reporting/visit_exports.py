"""CSV exports of personal information: marked, audited before they stream, streamed flat.

Each export writes its audit entry and commits *before* the first byte goes out, with the
filters and the row count a COUNT query gave at that moment: the exact number of rows sent
is only known at the end of a stream, which may also be cut off by the client.
"""
from collections.abc import Iterator
from datetime import UTC, datetime

from flask_babel import get_timezone
from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, Household, OrgUnit, User, Visit
from fieldlog.services.common.cells import cell, csv_lines, marking
from fieldlog.services.people.audit import AuditFilters, filtered_entries, record
from fieldlog.services.people.privacy import mask_phone
from fieldlog.services.records.visits import filtered_visits, photo_counts

CHUNK = 500


def _local(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(get_timezone()).strftime("%Y-%m-%d %H:%M")


def _count(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _preamble(user: User, entry: AuditEntry, header: list[str]) -> str:
    """The BOM (so Excel reads UTF-8), the marking, who exported when, and the header row."""
    exported = _("Exported by %(user)s at %(time)s; audit entry %(id)s",
                 user=user.username, time=_local(entry.at), id=entry.id)
    return "\ufeff" + csv_lines([[marking()], [exported], header])


def _visit_query(user: User, village_id: int | None, author_id: int | None) -> Select:
    query = filtered_visits(user, village_id, author_id).with_only_columns(
        Visit.id, Visit.occurred_at, Visit.received_at, OrgUnit.name, Household.head_name,
        Household.house_label, Household.phone, User.display_name, Visit.heard, Visit.requests,
        Visit.follow_up, Visit.photo_count, Visit.lat, Visit.lon, Visit.accuracy_m)
    return query.order_by(Visit.occurred_at.desc(), Visit.id)


def visits_csv(user: User, *, village_id: int | None = None,
               author_id: int | None = None) -> Iterator[str]:
    """Audit an export of the visits in scope, then return a generator of its CSV text.

    Household names are included; phone numbers are masked.
    """
    query = _visit_query(user, village_id, author_id)
    filters = {"village_id": village_id, "author_id": author_id}
    entry = record("export.visits", actor=user, object_type="visit",
                   details={"filters": filters, "rows_at_start": _count(query)})
    db.session.commit()
    header = [_("Visit time"), _("Received"), _("Village"), _("Head of household"),
              _("House number"), _("Phone (masked)"), _("Secretary"), _("What was heard"),
              _("What they ask for"), _("Follow-up"), _("Photos received"),
              _("Photos announced"), _("Latitude"), _("Longitude"), _("Accuracy (m)"),
              _("Visit ID")]
    preamble = _preamble(user, entry, header)
    yes, no = _("Yes"), _("No")

    def generate() -> Iterator[str]:
        yield preamble
        result = db.session.execute(query.execution_options(yield_per=CHUNK))
        for rows in result.partitions():
            photos = photo_counts([str(row.id) for row in rows])  # one query per chunk
            yield csv_lines([[
                _local(row.occurred_at), _local(row.received_at), cell(row.name),
                cell(row.head_name), cell(row.house_label), mask_phone(row.phone),
                cell(row.display_name), cell(row.heard), cell(row.requests),
                yes if row.follow_up else no, photos.get(str(row.id), 0), row.photo_count,
                row.lat, row.lon, row.accuracy_m, row.id,
            ] for row in rows])

    return generate()


def audit_csv(user: User, filters: AuditFilters) -> Iterator[str]:
    """Audit an export of the audit trail (it holds usernames and IPs), then stream its CSV."""
    query = filtered_entries(filters).order_by(AuditEntry.id.desc())
    entry = record("audit.export", actor=user, object_type="audit_log",
                   details={"filters": filters.as_dict(), "rows_at_start": _count(query)})
    db.session.commit()
    header = [_("Entry"), _("Time"), _("User"), _("Action"), _("Object type"), _("Object"),
              _("IP address"), _("Device"), _("Details"), _("Hash")]
    preamble = _preamble(user, entry, header)

    def generate() -> Iterator[str]:
        yield preamble
        result = db.session.execute(query.execution_options(yield_per=CHUNK))
        for rows in result.scalars().partitions():
            yield csv_lines([[
                e.id, _local(e.at), cell(e.actor_name), e.action, cell(e.object_type),
                cell(e.object_id), e.ip, cell(e.user_agent),
                cell(e.details), e.hash,
            ] for e in rows])

    return generate()
