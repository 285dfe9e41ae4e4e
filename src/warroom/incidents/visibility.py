"""Who may see which incident: the one predicate every incident query and loader applies.

A restricted incident is seen by its participants (anyone who holds or has held a role on it, who declared
it, or who was explicitly added), the members of the procedure's security team, and admins. To everyone
else it does not exist: loaders raise the same NotFound as for a missing id, lists and counts leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, false, or_, select, true

from warroom.auth.domain import Role
from warroom.auth.models import Team, TeamMember, User
from warroom.incidents.models import Incident, IncidentParticipant, RoleAssignment
from warroom.procedure.schemas import Procedure

COMMANDER_ROLE = "incident_commander"
RESTRICTED_LABEL = "restricted incident"


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a user (by id), nobody (anonymous: public pages), or warroom itself (jobs, chat)."""

    user_id: int | None
    sees_all: bool = False
    security_team: str | None = None


SYSTEM = Viewer(user_id=None, sees_all=True)
ANONYMOUS = Viewer(user_id=None)


def viewer_of(user: User | None, procedure: Procedure) -> Viewer:
    if user is None:
        return ANONYMOUS
    return Viewer(user_id=user.id, sees_all=user.role == Role.admin, security_team=procedure.security_team)


def is_participant(viewer: Viewer) -> ColumnElement[bool]:
    """Whether the viewer is a participant of the incident row in the query (security team included)."""
    if viewer.sees_all:
        return true()
    if viewer.user_id is None:
        return false()
    uid = viewer.user_id
    rules: list[ColumnElement[bool]] = [
        Incident.declared_by_id == uid,
        exists().where(RoleAssignment.incident_id == Incident.id, RoleAssignment.user_id == uid),
        exists().where(IncidentParticipant.incident_id == Incident.id, IncidentParticipant.user_id == uid),
    ]
    if viewer.security_team:
        rules.append(
            exists(
                select(TeamMember.id)
                .join(Team, Team.id == TeamMember.team_id)
                .where(Team.slug == viewer.security_team, TeamMember.user_id == uid)
            )
        )
    return or_(*rules)


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The WHERE clause for "incidents this viewer may know exist"."""
    if viewer.sees_all:
        return true()
    return or_(Incident.restricted.is_(False), is_participant(viewer))


def shown_title(incident: Incident) -> str:
    """A title for text that leaves warroom to places not limited to participants (pages, shared chat)."""
    if incident.restricted:
        return f"{RESTRICTED_LABEL} INC-{incident.id}"
    return incident.title
