"""Photos attached to records; the binary lives in the photo store, facts live here."""
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from fieldlog.extensions import db
from fieldlog.models.base import utcnow


class Photo(db.Model):
    """A photo keyed by the phone's UUID, with the EXIF facts read from it (or from the phone)."""

    __tablename__ = "photos"
    __table_args__ = (Index("ix_photos_record", "record_type", "record_id"),)

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False))
    # Which picture of the record this is, where it matters: "before"/"after" of a practical
    # deed, "sign_in" sheet of a meeting; None for an ordinary photo.
    slot: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "processing" from the upload until the photo job made its served sizes, then "ready";
    # "failed" when the file could not be decoded after all (`failure` says why, a stable code
    # of services/records/photos.py). Only a ready photo has a display and a thumbnail.
    state: Mapped[str] = mapped_column(String(12), default="ready", server_default="ready")
    failure: Mapped[str | None] = mapped_column(String(32))
    # When the phone of the photo's owner showed the failure and the cadre acknowledged it
    # (until then the phone is told about it after each sync).
    failure_seen_at: Mapped[datetime | None]
    content_type: Mapped[str] = mapped_column(String(32))
    byte_size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int]
    height: Mapped[int]
    original_key: Mapped[str] = mapped_column(String(200))
    display_key: Mapped[str] = mapped_column(String(200))
    thumb_key: Mapped[str] = mapped_column(String(200))
    # EXIF facts: taken_at is the camera's local clock, as EXIF has no zone.
    taken_at: Mapped[datetime | None]
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    facts_source: Mapped[str | None] = mapped_column(String(8))  # 'file' or 'device'
    camera_make: Mapped[str | None] = mapped_column(String(64))
    camera_model: Mapped[str | None] = mapped_column(String(64))
    # 64-bit difference hash for near-duplicate search, split into four 16-bit bands: two
    # hashes within 3 bits share a band exactly, so an indexed band lookup finds them.
    dhash: Mapped[int | None] = mapped_column(BigInteger)
    dhash_b0: Mapped[int | None] = mapped_column(index=True)
    dhash_b1: Mapped[int | None] = mapped_column(index=True)
    dhash_b2: Mapped[int | None] = mapped_column(index=True)
    dhash_b3: Mapped[int | None] = mapped_column(index=True)
