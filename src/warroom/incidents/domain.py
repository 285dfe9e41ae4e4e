"""Incident rules: the phase state machine, severity changes, roles. Pure: no I/O, no clock."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from warroom.errors import Conflict, FieldProblem, IllegalTransition, InvalidInput, invalid
from warroom.procedure.domain import parse_duration
from warroom.procedure.schemas import Phase, Procedure

REF_PATTERN = re.compile(r"^(?:inc-)?(\d{1,12})$", re.IGNORECASE)
# The role that owns an incident: the one who may waive required roles (procedures name roles by id).
COMMANDER_ROLE = "incident_commander"


def incident_ref(incident_id: int) -> str:
    return f"INC-{incident_id}"


def parse_ref(text: str) -> int | None:
    """`INC-42`, `inc-42` or `42` -> 42; anything else -> None."""
    match = REF_PATTERN.match(text.strip())
    return int(match.group(1)) if match else None


def _choices(values: Collection[str]) -> str:
    return ", ".join(values) if values else "none"


def check_severity(procedure: Procedure, severity: str, field: str = "severity") -> str:
    if severity not in procedure.severity_ids():
        raise invalid(field, f"unknown severity {severity!r}; allowed: {_choices(procedure.severity_ids())}")
    return severity


def check_type(procedure: Procedure, incident_type: str, field: str = "type") -> str:
    if incident_type not in procedure.type_ids():
        raise invalid(
            field, f"unknown incident type {incident_type!r}; allowed: {_choices(procedure.type_ids())}"
        )
    return incident_type


def check_role(procedure: Procedure, role: str, field: str = "role") -> str:
    if role not in procedure.role_ids():
        raise invalid(field, f"unknown role {role!r}; allowed: {_choices(procedure.role_ids())}")
    return role


def check_severity_change(procedure: Procedure, *, current: str, new: str, reason: str | None) -> None:
    check_severity(procedure, new)
    if new == current:
        raise Conflict(f"the severity is already {new}")
    if not reason or not reason.strip():
        raise InvalidInput(
            "severity_reason: a reason is required to change the severity",
            [FieldProblem("severity_reason", "a reason is required to change the severity")],
        )


def check_milestone_order(
    *, impact_started_at: datetime | None, detected_at: datetime | None, declared_at: datetime
) -> None:
    """Impact starts before it is detected, and both before the incident is declared."""
    if detected_at is not None and detected_at > declared_at:
        raise invalid("detected_at", "is in the future")
    if impact_started_at is not None and impact_started_at > declared_at:
        raise invalid("impact_started_at", "is in the future")
    if impact_started_at and detected_at and impact_started_at > detected_at:
        raise invalid("impact_started_at", "is after detected_at")


@dataclass(frozen=True)
class PhaseMove:
    target: Phase
    reopens: bool
    milestones: list[str]


def check_phase_move(
    procedure: Procedure,
    *,
    current: str,
    target: str,
    severity: str,
    held_roles: Collection[str],
    review_published: bool = True,
    waived_roles: Collection[str] = (),
) -> PhaseMove:
    """Validate one move of the state machine and say what it implies (reopen, milestones)."""
    if target not in procedure.phase_ids():
        raise invalid("phase", f"unknown phase {target!r}; phases: {_choices(procedure.phase_ids())}")
    here = procedure.phase(current)
    if target == current:
        raise Conflict(f"the incident is already in {current}")
    if target not in here.next:
        raise IllegalTransition(
            f"cannot move from {current} to {target}; allowed from {current}: {_choices(here.next)}",
            [FieldProblem("phase", f"allowed from {current}: {_choices(here.next)}")],
            {"allowed": list(here.next)},
        )
    destination = procedure.phase(target)
    level = procedure.severity(severity)
    if destination.status == "closed" and level.review_required and here.status != "resolved":
        raise IllegalTransition(
            f"{severity} incidents must pass through review before they close",
            [FieldProblem("phase", "review is required for this severity")],
            {"allowed": list(here.next)},
        )
    if destination.status == "closed" and level.review_required and not review_published:
        raise IllegalTransition(
            f"{severity} incidents need a published review before they close",
            [FieldProblem("phase", "publish the review first")],
            {"allowed": list(here.next)},
        )
    if here.status == "active" and destination.status != "active":
        check_required_roles(procedure, severity=severity, held_roles=held_roles, waived_roles=waived_roles)
    needed = [r for r in destination.entry_roles if r in level.required_roles and r not in held_roles]
    if needed:
        names = _choices([procedure.role(r).name for r in needed])
        raise IllegalTransition(
            f"assign {names} before moving a {severity} incident to {target}",
            [FieldProblem("phase", f"missing role(s): {names}; assign them first")],
            {"missing_roles": needed},
        )
    reopens = here.status != "active" and destination.status == "active"
    return PhaseMove(target=destination, reopens=reopens, milestones=list(destination.milestones))


def missing_roles(
    procedure: Procedure, *, severity: str, held_roles: Collection[str], waived_roles: Collection[str] = ()
) -> list[str]:
    required = procedure.severity(severity).required_roles
    return [r for r in required if r not in held_roles and r not in waived_roles]


def check_required_roles(
    procedure: Procedure, *, severity: str, held_roles: Collection[str], waived_roles: Collection[str]
) -> None:
    """Resolving (leaving the active phases) needs every role the severity requires, held or waived."""
    missing = missing_roles(procedure, severity=severity, held_roles=held_roles, waived_roles=waived_roles)
    if missing:
        names = _choices([procedure.role(r).name for r in missing])
        raise IllegalTransition(
            f"a {severity} incident needs {names} before it is resolved: assign them, or the incident "
            "commander waives them with a reason",
            [FieldProblem("phase", f"missing role(s): {names}; assign them, or the commander waives them")],
            {"missing_roles": missing},
        )


def check_waiver(
    procedure: Procedure, *, severity: str, roles: Collection[str], reason: str, actor_is_commander: bool
) -> list[str]:
    """The roles a commander may waive for this incident: required by its severity, each named once."""
    if not actor_is_commander:
        raise Conflict("only the incident commander can waive required roles; assign a commander first")
    if not reason.strip():
        raise invalid("reason", "a reason is required to waive a role")
    required = procedure.severity(severity).required_roles
    if not roles:
        raise invalid("roles", "name at least one role to waive")
    for role in roles:
        check_role(procedure, role, "roles")
        if role not in required:
            raise invalid("roles", f"{role} is not required for {severity}; required: {_choices(required)}")
    return list(dict.fromkeys(roles))


def resolution_phase(procedure: Procedure, *, current: str) -> str:
    """Where "resolve" goes from here: the next phase that resolves, else one that closes."""
    here = procedure.phase(current)
    for wanted in ("resolved", "closed"):
        for phase_id in here.next:
            if procedure.phase(phase_id).status == wanted:
                return phase_id
    raise IllegalTransition(
        f"cannot resolve from {current}; allowed from {current}: {_choices(here.next)}",
        [FieldProblem("phase", f"allowed from {current}: {_choices(here.next)}")],
        {"allowed": list(here.next)},
    )


def next_update_due(
    procedure: Procedure,
    *,
    severity: str,
    status: str,
    declared_at: datetime,
    last_update_at: datetime | None,
) -> datetime | None:
    """When the next stakeholder update is due: the severity's cadence after the last update (or the
    declaration), while the incident is active; None when the severity sets no cadence."""
    cadence = procedure.severity(severity).update_cadence
    if cadence is None or status != "active":
        return None
    return (last_update_at or declared_at) + parse_duration(cadence)
