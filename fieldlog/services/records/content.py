"""A synced record's content: validated once, kept as canonical JSON, known by its hash.

The hash decides whether a record sent again is a replay (same content) or an edit, so it must
never change for the same content: times are written as UTC with a Z, UUIDs in their canonical
form, keys sorted, no spaces, non-ASCII kept as is (tests/test_sync_content.py pins hashes).
"""
import hashlib
import json
from datetime import date, datetime
from typing import Any

from fieldlog.schemas.fastload import FastLoader
from fieldlog.schemas.records import LedgerUpdateInSchema
from fieldlog.services.records.kinds import KINDS
from fieldlog.timefmt import iso_utc, to_utc_naive

# One loader per record type: the common well-formed record skips marshmallow's machinery,
# anything else is loaded (and its errors worded) by the schema itself.
LOADERS: dict[str, FastLoader] = {
    **{name: FastLoader(kind.schema) for name, kind in KINDS.items()},
    "ledger_update": FastLoader(LedgerUpdateInSchema()),
}


def _plain(value: Any) -> str:
    """Write what JSON has no type for: times as UTC with a Z, dates in ISO, the rest (UUIDs)
    as text."""
    if isinstance(value, datetime):
        return iso_utc(to_utc_naive(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_encoder = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                            default=_plain)


def version_content(data: dict[str, Any]) -> str:
    """Return a validated record's content as stored in its version row (canonical JSON),
    without the edit's `base_version` (a replayed edit is the same content)."""
    return _encoder.encode({k: v for k, v in data.items() if k != "base_version"})


def hash_canonical(canonical: str) -> str:
    """Hash canonical JSON (the content hash of a record)."""
    return hashlib.sha256(canonical.encode()).hexdigest()


def content_hash(data: dict[str, Any]) -> str:
    """Hash a validated record canonically, so the same content always gives the same hash."""
    return hash_canonical(version_content(data))
