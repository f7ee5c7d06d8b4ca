"""SQLAlchemy models, one module per part of the domain."""
from fieldlog.models.audit import AuditEntry
from fieldlog.models.households import Household, HouseholdTag
from fieldlog.models.integrity import CheckTask, Flag, PresenceCheck, Sample
from fieldlog.models.org import OrgUnit
from fieldlog.models.people import Assignment, DeviceToken, User
from fieldlog.models.photos import Photo
from fieldlog.models.records import Visit

__all__ = [
    "AuditEntry", "Assignment", "CheckTask", "DeviceToken", "Flag", "Household", "HouseholdTag",
    "OrgUnit", "Photo", "PresenceCheck", "Sample", "User", "Visit",
]
