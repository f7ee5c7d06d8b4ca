"""SQLAlchemy models, one module per part of the domain."""
from fieldlog.models.attendance import DayMark, LeaveDecision, LeaveRequest
from fieldlog.models.audit import AuditEntry
from fieldlog.models.households import Household, HouseholdTag
from fieldlog.models.integrity import CheckTask, Flag, PresenceCheck, Sample
from fieldlog.models.jobs import JobFailure
from fieldlog.models.ledger import LedgerEvent, LedgerItem, LedgerLink
from fieldlog.models.org import OrgUnit
from fieldlog.models.people import Assignment, DeviceToken, LoginLock, User
from fieldlog.models.photos import Photo
from fieldlog.models.records import Action, Goal, GoalLink, Meeting, Visit
from fieldlog.models.review import RecordVersion, ReviewDecision
from fieldlog.models.settings import CountySetting, ManualScore

__all__ = [
    "Action", "AuditEntry", "Assignment", "CheckTask", "CountySetting", "DayMark", "DeviceToken",
    "Flag", "Goal", "GoalLink", "Household", "HouseholdTag", "JobFailure", "LeaveDecision",
    "LeaveRequest", "LedgerEvent", "LedgerItem", "LedgerLink", "LoginLock", "ManualScore",
    "Meeting", "OrgUnit", "Photo", "PresenceCheck", "RecordVersion", "ReviewDecision", "Sample",
    "User", "Visit",
]
