"""Users, their assignments to villages, and the device tokens that sync offline records."""
import hashlib
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldlog.extensions import db
from fieldlog.models.base import utcnow
from fieldlog.models.org import OrgUnit

ROLES = ("secretary", "supervisor", "inspector", "admin")
# A cadre's post in a village: one first secretary (第一书记) at a time, any team members.
POSTS = ("first_secretary", "team_member")


class User(UserMixin, db.Model):
    """A person who signs in; `scope_unit` is the part of the org tree they may see."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('secretary', 'supervisor', 'inspector', 'admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    scope_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Security state: a forced change after an admin reset, lockout after failed sign-ins, and
    # an epoch that "sign out of all devices" bumps so every older session stops working.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None]
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    session_epoch: Mapped[int] = mapped_column(default=0)
    anonymised_at: Mapped[datetime | None]

    scope_unit: Mapped[OrgUnit] = relationship()

    def get_id(self) -> str:
        """Tie the session to the epoch, so bumping it signs out every device."""
        return f"{self.id}:{self.session_epoch}"

    @property
    def is_active(self) -> bool:
        return self.active


class Assignment(db.Model):
    """A cadre's term in a village; reassignment adds a row, history is kept.

    Team members (工作队员) are `secretary` users like the first secretary: they record in
    their village; `post` tells them apart.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint("post IN ('first_secretary', 'team_member')", name="post"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="term_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    dispatching_unit: Mapped[str] = mapped_column(String(120))  # 派出单位
    post: Mapped[str] = mapped_column(String(20), default="first_secretary",
                                      server_default="first_secretary")

    user: Mapped[User] = relationship()
    village: Mapped[OrgUnit] = relationship()


class DeviceToken(db.Model):
    """A per-device bearer token: offline records replay with it hours later, no CSRF needed."""

    __tablename__ = "device_tokens"

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @staticmethod
    def digest(raw: str) -> str:
        """Return what is stored of a raw device token: its SHA-256."""
        return hashlib.sha256(raw.encode()).hexdigest()


class LoginLock(db.Model):
    """Failed sign-ins of one user from one source: a client address or a known device.

    Locking per source, not per account, keeps brute force slow without letting anyone who
    knows a username lock its owner out (see docs/security.md).
    """

    __tablename__ = "login_locks"
    __table_args__ = (UniqueConstraint("user_id", "source", name="uq_login_locks_source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[str] = mapped_column(String(80))  # "ip:<address>" or "device:<id>"
    failures: Mapped[int] = mapped_column(default=0)
    lockouts: Mapped[int] = mapped_column(default=0)  # in a row: each lock lasts twice as long
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
