"""Personal information (PIPL): masking, audited reveal of a phone number, retention purge."""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import String, and_, cast, exists, literal, or_, select, update

from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import Assignment, DeviceToken, Household, OrgUnit, User
from fieldlog.models.base import utcnow
from fieldlog.permissions import can_reveal_phone, can_view_records_of
from fieldlog.services.people.audit import record

REASON_MAX = 200
ANON_USER_NAME = "已注销用户"
ANON_HEAD_NAME = "户主（已匿名）"
UNUSABLE_PASSWORD = "!anonymised"  # not a werkzeug hash: no password ever matches it


def mask_phone(phone: str | None) -> str:
    """Mask a phone number: '13812345678' → '138****5678'; short numbers show 2 digits."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    if len(phone) > 4:
        return "*" * (len(phone) - 2) + phone[-2:]
    return "*" * len(phone)


def mask_id_number(number: str | None) -> str:
    """Mask a resident ID number, hiding the county code and the birth date.

    18 digits keep the first 4 (province and prefecture) and the last 4: '5201**********1234'.
    15-digit (old) numbers keep the first 4 and last 3 (the sequence, after the birth date).
    Anything else shows only its last 2 characters.
    """
    number = (number or "").strip()
    if len(number) == 18:
        return number[:4] + "*" * 10 + number[-4:]
    if len(number) == 15:
        return number[:4] + "*" * 8 + number[-3:]
    if len(number) > 4:
        return "*" * (len(number) - 2) + number[-2:]
    return "*" * len(number)


def reveal_household_phone(user: User, household_id: str, reason: str, purpose: str) -> str:
    """Return a household's full phone number, with the purpose and reason audited.

    Out of scope is NotFound; in scope without a task that needs the number is Forbidden
    (`permissions.can_reveal_phone`).
    """
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        message = _("Say why you need the full number (at most %(n)s characters).", n=REASON_MAX)
        raise Invalid(message, fields={"reason": [message]})
    household = db.session.get(Household, str(household_id))
    village = db.session.get(OrgUnit, household.village_id) if household else None
    if village is None or not can_view_records_of(user, village):
        raise NotFound(_("No such household in your scope."))
    if not can_reveal_phone(user, village, purpose):
        raise Forbidden(_("The full number is shown only where a task needs it: an "
                          "inspector's phone callback, or the village's secretary in the "
                          "register."), code="no_reveal")
    if not household.phone:
        raise Invalid(_("This household has no phone number on file."), code="no_phone")
    record("phone.reveal", actor=user, object_type="household", object_id=household.id,
           details={"household_id": household.id, "purpose": purpose, "reason": reason})
    db.session.commit()
    return household.phone


@dataclass
class PurgePlan:
    """What a retention purge anonymises (or, on a dry run, would)."""

    days: int
    cutoff: date
    user_ids: list[int] = field(default_factory=list)
    household_ids: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        verb = "Would anonymise" if self.dry_run else "Anonymised"
        return (f"{verb} {len(self.user_ids)} cadre(s) and {len(self.household_ids)} "
                f"household(s) whose work ended before {self.cutoff.isoformat()} "
                f"({self.days} days).")


def _ended_before(cutoff: date):
    """An assignment that was still running on or after `cutoff` (or has no end)."""
    return or_(Assignment.end_date.is_(None), Assignment.end_date >= cutoff)


def _expired_cadres(cutoff: date) -> list[int]:
    """Secretaries with at least one assignment, every one of which ended before `cutoff`."""
    has_any = exists().where(Assignment.user_id == User.id)
    recent = exists().where(Assignment.user_id == User.id, _ended_before(cutoff))
    return list(db.session.scalars(
        select(User.id).where(User.role == "secretary", User.anonymised_at.is_(None),
                              has_any, ~recent).order_by(User.id)))


def _expired_households(cutoff: date) -> list[str]:
    """Households of villages that had assignments, none of them running since `cutoff`.

    A village with no assignment at all is left alone: its register may have been imported
    before its first secretary arrives.
    """
    village = Household.village_id
    has_any = exists().where(Assignment.village_id == village)
    recent = exists().where(Assignment.village_id == village, _ended_before(cutoff))
    return list(db.session.scalars(
        select(Household.id).where(Household.anonymised_at.is_(None), has_any, ~recent)
        .order_by(Household.id)))


def purge_personal_data(days: int, *, dry_run: bool = False,
                        today: date | None = None) -> PurgePlan:
    """Anonymise cadres and households whose work ended more than `days` ago; audit each run.

    Records (visits, photos) stay: they are the work record. Their free text is not touched.
    Already anonymised rows are skipped, so running it again changes nothing.
    """
    if days < 1:
        raise Invalid("The retention period must be at least one day.")
    cutoff = (today or utcnow().date()) - timedelta(days=days)
    plan = PurgePlan(days, cutoff, _expired_cadres(cutoff), _expired_households(cutoff),
                     dry_run)
    if dry_run:
        return plan
    now = utcnow()
    if plan.user_ids:
        _anonymise_users(plan.user_ids, now)
        record("privacy.anonymise", object_type="user", actor_name="flask privacy purge",
               details={"count": len(plan.user_ids), "ids": plan.user_ids, "days": days,
                        "cutoff": cutoff.isoformat()})
    if plan.household_ids:
        _anonymise_households(plan.household_ids, now)
        record("privacy.anonymise", object_type="household", actor_name="flask privacy purge",
               details={"count": len(plan.household_ids), "ids": plan.household_ids,
                        "days": days, "cutoff": cutoff.isoformat()})
    db.session.commit()
    return plan


def _chunks(ids: list, size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _anonymise_users(ids: list[int], now: datetime) -> None:
    """Strip names and contact details, lock the account, revoke every device token."""
    for chunk in _chunks(ids):
        db.session.execute(
            update(User).where(User.id.in_(chunk), User.anonymised_at.is_(None)).values(
                display_name=ANON_USER_NAME, username=literal("anon-") + cast(User.id, String),
                phone=None, password_hash=UNUSABLE_PASSWORD, active=False, anonymised_at=now,
                session_epoch=User.session_epoch + 1),
            execution_options={"synchronize_session": False})
        db.session.execute(
            update(DeviceToken).where(DeviceToken.user_id.in_(chunk),
                                      DeviceToken.revoked_at.is_(None)).values(revoked_at=now),
            execution_options={"synchronize_session": False})


def _anonymise_households(ids: list[str], now: datetime) -> None:
    """Strip the head's name, the phone, the position and the door number (an address)."""
    for chunk in _chunks(ids):
        db.session.execute(
            update(Household)
            .where(and_(Household.id.in_(chunk), Household.anonymised_at.is_(None)))
            .values(head_name=ANON_HEAD_NAME, phone=None, lat=None, lon=None,
                    anonymised_at=now, house_label=literal("匿名-") + cast(Household.id, String)),
            execution_options={"synchronize_session": False})
