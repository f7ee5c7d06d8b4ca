"""Leave requests along the county's chain: the chain fixed on a request, who approves at which
level, the requests and decisions an approver sees, and the decision itself (audited, committed).
"""
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select, update

from fieldlog.errors import Conflict, Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import LeaveDecision, LeaveRequest, OrgUnit, User
from fieldlog.models.base import utcnow
from fieldlog.permissions import scope_village_ids
from fieldlog.services.people.audit import record

LEVELS = ("township", "county")  # the levels a leave chain's steps are approved at


def chain_of(leave: LeaveRequest) -> list[str]:
    """Return the approval chain fixed on the request."""
    try:
        chain = json.loads(leave.chain or "[]")
    except ValueError:
        return []
    return [str(level) for level in chain] if isinstance(chain, list) else []


def approver_level(user: User) -> str | None:
    """Return the level a user approves at: a supervisor of a township or of a county."""
    if user.role != "supervisor" or user.scope_unit.kind not in LEVELS:
        return None
    return user.scope_unit.kind


def my_leaves(user: User) -> list[LeaveRequest]:
    """Return the user's leave requests, newest first."""
    return list(db.session.scalars(select(LeaveRequest).where(LeaveRequest.author_id == user.id)
                                   .order_by(LeaveRequest.start_date.desc(),
                                             LeaveRequest.received_at.desc())))


def decisions_for(leave_ids: Iterable[str]) -> dict[str, list[LeaveDecision]]:
    """Return the decisions of each request, in step order."""
    ids = list(leave_ids)
    found: dict[str, list[LeaveDecision]] = defaultdict(list)
    if ids:
        for decision in db.session.scalars(select(LeaveDecision).where(
                LeaveDecision.leave_id.in_(ids)).order_by(LeaveDecision.step,
                                                          LeaveDecision.id)):
            found[decision.leave_id].append(decision)
    return found


def pending_approvals(approver: User) -> list[LeaveRequest]:
    """Return the pending requests in the approver's scope whose next step is their level."""
    level = approver_level(approver)
    if level is None:
        return []
    pending = db.session.scalars(select(LeaveRequest).where(
        LeaveRequest.state == "pending", LeaveRequest.village_id.in_(scope_village_ids(approver)))
        .order_by(LeaveRequest.start_date, LeaveRequest.received_at))
    return [leave for leave in pending if _next_level(leave) == level]


def recent_decisions(approver: User, limit: int = 30) -> list[tuple[LeaveDecision, LeaveRequest]]:
    """Return the latest decisions on requests in the approver's scope."""
    return list(db.session.execute(
        select(LeaveDecision, LeaveRequest).join(LeaveRequest,
                                                 LeaveDecision.leave_id == LeaveRequest.id)
        .where(LeaveRequest.village_id.in_(scope_village_ids(approver)))
        .order_by(LeaveDecision.decided_at.desc(), LeaveDecision.id.desc()).limit(limit)))


def _next_level(leave: LeaveRequest) -> str | None:
    chain = chain_of(leave)
    return chain[leave.step] if 0 <= leave.step < len(chain) else None


def decide(approver: User, leave_id: str, decision: str, comment: str) -> LeaveRequest:
    """Record an approver's decision on the current step of a request; commit.

    NotFound outside the approver's scope; Forbidden when it is not their level's turn;
    Conflict when the request is no longer pending; Invalid for a rejection without a comment.
    """
    comment = (comment or "").strip()
    leave = db.session.get(LeaveRequest, str(leave_id)) if _is_uuid(leave_id) else None
    in_scope = leave is not None and db.session.scalar(
        select(OrgUnit.id).where(OrgUnit.id == leave.village_id,
                                 OrgUnit.id.in_(scope_village_ids(approver))))
    if not in_scope:
        raise NotFound("No such leave request in your scope.")
    if decision not in ("approved", "rejected"):
        raise Invalid("Choose approve or reject.", fields={"decision": ["Unknown decision."]})
    if decision == "rejected" and not comment:
        raise Invalid("Say why the request is rejected.", fields={"comment": ["Required."]})
    if len(comment) > 2000:
        raise Invalid("The comment is too long.", fields={"comment": ["Too long."]})
    if leave.state != "pending":
        raise Conflict("This request has already been decided or withdrawn.")
    level = approver_level(approver)
    if level is None or _next_level(leave) != level:
        raise Forbidden("This request is waiting for another level's approval.")
    step, chain, now = leave.step, chain_of(leave), utcnow()
    final = decision == "rejected" or step + 1 >= len(chain)
    values = {"step": step if final else step + 1}
    if final:
        values.update(state=decision, decided_at=now)
    # Only the step that was read may move on: two approvers at once cannot both act.
    moved = db.session.execute(update(LeaveRequest).where(
        LeaveRequest.id == leave.id, LeaveRequest.state == "pending",
        LeaveRequest.step == step).values(**values).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.rollback()
        raise Conflict("Someone else acted on this request at the same moment.")
    db.session.add(LeaveDecision(leave_id=leave.id, step=step, level=level,
                                 approver_id=approver.id, decision=decision, comment=comment,
                                 decided_at=now))
    record("leave.approve" if decision == "approved" else "leave.reject", actor=approver,
           object_type="leave", object_id=leave.id,
           details={"step": step, "level": level, "final": final, "comment": comment,
                    "author_id": leave.author_id, "days": leave.days})
    db.session.commit()
    db.session.refresh(leave)
    return leave


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
