"""Integrity flags from photos: reused or near-identical photos, and EXIF facts that disagree.

The near-duplicate search never scans the stored photos: each photo's 64-bit dHash is kept
in four indexed 16-bit bands, and one query looks up each band and its one-bit neighbours;
only when a candidate is within DUP_MAX_BITS does a second query read its record.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from fieldlog.extensions import db
from fieldlog.models import Photo, User, Visit
from fieldlog.services.integrity import rules
from fieldlog.services.integrity.flags import (
    apply_flags,
    chunks,
    commit_retrying,
    county_zone,
    load_flags,
    photo_facts,
    visit_facts,
)

log = logging.getLogger(__name__)
# Each photo adds 68 band probes to the lookup: 100 photos stay far below SQLite's 32,766
# parameters. An upload sends one; hashing old photos in bulk goes in chunks.
PHOTO_CHUNK = 100
# The most recent near-duplicates read for each photo. A picture reused on thousands of
# records (one image passed round a chat group, or the load test's few source photos) would
# otherwise make every new copy's job read and re-flag all of them: the cost grew with the
# copies (0.06 s a job at first, 0.5-0.9 s after 12,000 copies). The new record is flagged as
# surely with 50 as with all; an older copy beyond the 50 newest got its flag when a copy after
# it arrived, as each copy meets the newest ones.
MATCH_LIMIT = 50
_BAND_COLUMNS = (Photo.dhash_b0, Photo.dhash_b1, Photo.dhash_b2, Photo.dhash_b3)


@dataclass(frozen=True)
class _Side:
    """One photo in a match, with what the sentence says about its record."""

    photo_id: str
    record_id: str
    author_id: int
    author_name: str
    village_id: int
    household_id: str
    day: date
    bits: int


def compute_photo_flags(photo_ids: list[str]) -> int:
    """Hash these photos if needed, then flag their records (and any record they duplicate).

    Their records' EXIF kinds and duplicate-photo flag are recomputed from all of each record's
    photos; the other side of a match gets its flag if it has none. Commits; a handful of
    queries per PHOTO_CHUNK photos. Returns the number of flags inserted or changed.
    """
    ids = sorted({str(i) for i in photo_ids})
    return sum(commit_retrying(lambda chunk=chunk: _photo_flags(chunk))
               for chunk in chunks(ids, PHOTO_CHUNK))


def ensure_hash(photo: Photo) -> bool:
    """Compute and set a photo's dHash from its stored thumbnail if it has none; tell if set."""
    # Imported here: uploads will call compute_photo_flags, so it cannot be imported at the top.
    from fieldlog.services.records.uploads import photo_store

    if photo.dhash is not None:
        return True
    try:
        bits, featureless = rules.dhash(photo_store().get(photo.thumb_key))
    except (KeyError, OSError, ValueError):
        log.warning("photo %s: no readable thumbnail, no dHash", photo.id)
        return False
    photo.dhash = rules.to_signed(bits)
    # Featureless photos keep a hash but no bands, so they never match one another.
    b0, b1, b2, b3 = (None,) * 4 if featureless else rules.bands(bits)
    photo.dhash_b0, photo.dhash_b1, photo.dhash_b2, photo.dhash_b3 = b0, b1, b2, b3
    return True


def candidates_query(hashed: list[Photo]):
    """Select the stored photos sharing a band, or a band one bit off, with any of `hashed`:
    the newest MATCH_LIMIT for each of them at most.

    Only the band indexes are in the WHERE clause, so the database can answer from them alone.
    """
    probes: list[set[int]] = [set(), set(), set(), set()]
    for photo in hashed:
        for n, band in enumerate(rules.bands(rules.to_unsigned(photo.dhash))):
            probes[n].update(rules.probes(band))
    # The photos themselves come back too (they share every band): room for them as well.
    return (select(Photo.id, Photo.record_type, Photo.record_id, Photo.dhash)
            .where(or_(*(column.in_(sorted(values))
                         for column, values in zip(_BAND_COLUMNS, probes, strict=True))))
            .order_by(Photo.received_at.desc(), Photo.id)
            .limit((MATCH_LIMIT + 1) * len(hashed)))


def _photo_flags(ids: list[str]) -> int:
    record_ids = sorted(set(db.session.scalars(select(Photo.record_id).where(
        Photo.id.in_(ids), Photo.record_type == "visit"))))
    if not record_ids:
        return 0
    visits = {v.id: v for v in visit_facts(Visit.id.in_(record_ids))}
    photos = list(db.session.scalars(select(Photo).where(
        Photo.record_type == "visit", Photo.record_id.in_(record_ids))
        .order_by(Photo.received_at, Photo.id)))
    zone = county_zone()
    hashed = [p for p in photos
              if p.record_id in visits and ensure_hash(p) and p.dhash_b0 is not None]
    matches = _matches(hashed, visits, zone) if hashed else {}

    desired: dict[tuple[str, str], dict] = {}
    recomputed = set()
    owners = {i: (v.author_id, v.village_id) for i, v in visits.items()}
    for record_id, v in visits.items():
        recomputed |= {(record_id, k) for k in (*rules.EXIF_KINDS, rules.DUPLICATE_PHOTO)}
        mine = [photo_facts(p) for p in photos if p.record_id == record_id]
        for kind, params in rules.exif_flags(v, mine, zone).items():
            desired[(record_id, kind)] = params
    for (mine, other) in sorted(matches.values(), key=lambda m: (m[1].bits, m[1].record_id)):
        for this, that in ((mine, other), (other, mine)):
            key = (this.record_id, rules.DUPLICATE_PHOTO)
            owners.setdefault(this.record_id, (this.author_id, this.village_id))
            desired.setdefault(key, {
                "photo_id": this.photo_id, "other_id": that.record_id,
                "other_photo_id": that.photo_id, "other_author": that.author_name,
                "other_author_id": that.author_id, "other_date": that.day.isoformat(),
                "same_author": this.author_id == that.author_id, "bits": that.bits})
    existing = load_flags({k[0] for k in desired} | set(record_ids),
                          (*rules.EXIF_KINDS, rules.DUPLICATE_PHOTO))
    return apply_flags(desired, recomputed, existing, owners)


def _matches(hashed: list[Photo], visits: dict[str, rules.VisitFacts],
             zone) -> dict[tuple[str, str], tuple[_Side, _Side]]:
    """Find near-identical photos on other records of another household or another day.

    Returns {(record id, other record id): (this side, other side)}, the closest pair each.
    """
    candidates = [row for n in range(0, len(hashed), PHOTO_CHUNK)  # one query per upload
                  for row in db.session.execute(candidates_query(hashed[n:n + PHOTO_CHUNK]))]
    close = [(photo, c, rules.hamming(photo.dhash, c.dhash)) for photo in hashed
             for c in candidates
             if c.record_type == "visit" and c.record_id != photo.record_id]
    close = [(photo, c, bits) for photo, c, bits in close if bits <= rules.DUP_MAX_BITS]
    if not close:
        return {}  # the usual case: no second query at all
    others = {row.id: row for row in db.session.execute(
        select(Visit.id, Visit.author_id, User.display_name, Visit.village_id,
               Visit.household_id, Visit.occurred_at)
        .join(User, User.id == Visit.author_id)
        .where(Visit.id.in_(sorted({c.record_id for _p, c, _b in close}))))}
    found: dict[tuple[str, str], tuple[_Side, _Side]] = {}
    for photo, c, bits in close:
        v, o = visits[photo.record_id], others.get(c.record_id)
        if o is None:
            continue
        day, other_day = rules.local_day(v.occurred_at, zone), rules.local_day(o.occurred_at, zone)
        if o.household_id == v.household_id and other_day == day:
            continue  # a second shot of the same visit is not a reuse
        key = (photo.record_id, c.record_id)
        if key in found and found[key][1].bits <= bits:
            continue
        found[key] = (
            _Side(photo.id, v.id, v.author_id, v.author_name, v.village_id, v.household_id,
                  day, bits),
            _Side(c.id, c.record_id, o.author_id, o.display_name, o.village_id, o.household_id,
                  other_day, bits))
    return found
