"""The villagers' issue ledger (民情台账): items tracked to closure, with their history."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldlog.extensions import db
from fieldlog.models.base import utcnow
from fieldlog.models.households import Household
from fieldlog.models.records import RecordMixin

LEDGER_CATEGORIES = ("infrastructure", "industry_jobs", "social_security", "health",
                     "education", "housing", "environment", "dispute", "other")
LEDGER_HANDLERS = ("village_committee", "township", "dispatching_unit", "county_department",
                   "secretary", "other")
# open → in_progress → resolved → feedback (the household was told the outcome)
LEDGER_STATES = ("open", "in_progress", "resolved", "feedback")


class LedgerItem(RecordMixin, db.Model):
    """One villager request (诉求) tracked to closure; occurred_at is when it was raised."""

    __tablename__ = "ledger_items"
    __table_args__ = (Index("ix_ledger_items_village_state", "village_id", "state"),
                      Index("ix_ledger_items_author_occurred", "author_id", "occurred_at"))

    household_id: Mapped[str | None] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("households.id"), index=True)
    raiser_name: Mapped[str] = mapped_column(String(64), default="")  # when not a household
    category: Mapped[str] = mapped_column(String(24), default="other")
    content: Mapped[str] = mapped_column(Text)
    handler: Mapped[str] = mapped_column(String(24), default="village_committee")
    handler_note: Mapped[str] = mapped_column(String(200), default="")  # person or office
    due_date: Mapped[date | None]
    state: Mapped[str] = mapped_column(String(16), default="open")
    state_changed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    feedback_at: Mapped[datetime | None]

    household: Mapped[Household | None] = relationship()


class LedgerLink(db.Model):
    """A record (visit or meeting) in which the item was raised; an item may have several."""

    __tablename__ = "ledger_links"
    __table_args__ = (UniqueConstraint("item_id", "record_type", "record_id",
                                       name="uq_ledger_links_record"),
                      Index("ix_ledger_links_record", "record_type", "record_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("ledger_items.id", ondelete="CASCADE"), index=True)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEvent(db.Model):
    """A change of an item (state, handler, due date, a note), keyed by the phone's UUID."""

    __tablename__ = "ledger_events"

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    item_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("ledger_items.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    # Other fields changed by this event, {"handler": [old, new], ...}; JSON text.
    changes: Mapped[str] = mapped_column(Text, default="{}")
    note: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
