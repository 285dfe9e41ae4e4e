"""Roles, tasks, status updates and links on an incident. Each lands on the timeline; callers commit."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.auth.service import resolve_user
from warroom.errors import Conflict, NotFound, invalid
from warroom.incidents import domain
from warroom.incidents.models import Incident, IncidentLink, RoleAssignment, StatusUpdate, Task
from warroom.incidents.schemas import TaskCreate, TaskPatch
from warroom.incidents.service import acknowledge, held_roles, waived_roles
from warroom.procedure.loader import LoadedProcedure
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record


async def _user_field(session: AsyncSession, ref: str, field: str) -> User:
    try:
        return await resolve_user(session=session, ref=ref)
    except NotFound as error:
        raise invalid(field, error.detail) from None


async def assign_role(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    actor: User,
    incident: Incident,
    role: str,
    user_ref: str,
    now: datetime,
) -> RoleAssignment:
    """Assign a role; a single-holder role passes from its current holder. Any holder acknowledges."""
    domain.check_role(loaded.procedure, role)
    user = await _user_field(session, user_ref, "user")
    current = [a for a in await held_roles(session=session, incident_id=incident.id) if a.role == role]
    if any(a.user_id == user.id for a in current):
        raise Conflict(f"{user.email} already holds {role}")
    if not loaded.procedure.role(role).multiple:
        for holding in current:
            holding.unassigned_at, holding.unassigned_by_id = now, actor.id
            await record(
                session,
                incident,
                actor,
                EventKind.role_unassigned,
                now,
                role=role,
                user=await _email(session, holding),
            )
    holding = RoleAssignment(
        incident_id=incident.id, role=role, user_id=user.id, assigned_at=now, assigned_by_id=actor.id
    )
    session.add(holding)
    await record(session, incident, actor, EventKind.role_assigned, now, role=role, user=user.email)
    await acknowledge(session=session, actor=actor, incident=incident, now=now)
    incident.updated_at = now
    await session.flush()
    return holding


async def _email(session: AsyncSession, holding: RoleAssignment) -> str:
    user = await session.get(User, holding.user_id)
    return user.email if user else str(holding.user_id)


async def unassign_role(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    actor: User,
    incident: Incident,
    role: str,
    user_ref: str,
    now: datetime,
) -> None:
    domain.check_role(loaded.procedure, role)
    user = await _user_field(session, user_ref, "user")
    holdings = [
        a
        for a in await held_roles(session=session, incident_id=incident.id)
        if a.role == role and a.user_id == user.id
    ]
    if not holdings:
        raise Conflict(f"{user.email} does not hold {role}")
    for holding in holdings:
        holding.unassigned_at, holding.unassigned_by_id = now, actor.id
    await record(session, incident, actor, EventKind.role_unassigned, now, role=role, user=user.email)
    incident.updated_at = now
    await session.flush()


async def waive_roles(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    actor: User,
    incident: Incident,
    roles: list[str],
    reason: str,
    now: datetime,
) -> list[str]:
    """The commander resolves without some required roles, saying why; returns every role waived so far."""
    holders = await held_roles(session=session, incident_id=incident.id)
    is_commander = any(a.role == domain.COMMANDER_ROLE and a.user_id == actor.id for a in holders)
    chosen = domain.check_waiver(
        loaded.procedure, severity=incident.severity, roles=roles, reason=reason,
        actor_is_commander=is_commander,
    )  # fmt: skip
    already = await waived_roles(session=session, incident_id=incident.id)
    fresh = [r for r in chosen if r not in already]
    if not fresh:
        raise Conflict(f"already waived: {', '.join(chosen)}")
    await record(session, incident, actor, EventKind.roles_waived, now, roles=fresh, reason=reason.strip())
    incident.updated_at = now
    await session.flush()
    return [*already, *fresh]


async def role_history(*, session: AsyncSession, incident_id: int) -> list[tuple[RoleAssignment, User]]:
    rows = await session.execute(
        select(RoleAssignment, User)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.incident_id == incident_id)
        .order_by(RoleAssignment.assigned_at, RoleAssignment.id)
    )
    return [(a, u) for a, u in rows.all()]


async def add_task(
    *, session: AsyncSession, actor: User, incident: Incident, data: TaskCreate, now: datetime
) -> Task:
    assignee = await _user_field(session, data.assignee, "assignee") if data.assignee else None
    task = Task(
        incident_id=incident.id,
        title=data.title,
        assignee_id=assignee.id if assignee else None,
        due_at=data.due_at,
        done=False,
        created_at=now,
    )
    session.add(task)
    await session.flush()
    await record(
        session,
        incident,
        actor,
        EventKind.task_added,
        now,
        task_id=task.id,
        title=task.title,
        assignee=assignee.email if assignee else None,
        due_at=data.due_at.isoformat() if data.due_at else None,
    )
    incident.updated_at = now
    return task


async def get_task(*, session: AsyncSession, incident: Incident, task_id: int) -> Task:
    task = await session.get(Task, task_id)
    if task is None or task.incident_id != incident.id:
        raise NotFound(f"no task {task_id} on {domain.incident_ref(incident.id)}")
    return task


async def update_task(
    *, session: AsyncSession, actor: User, incident: Incident, task: Task, patch: TaskPatch, now: datetime
) -> Task:
    changes: dict[str, object] = {}
    if patch.title is not None and patch.title != task.title:
        task.title = changes["title"] = patch.title
    if patch.assignee is not None:
        assignee = await _user_field(session, patch.assignee, "assignee") if patch.assignee else None
        task.assignee_id = assignee.id if assignee else None
        changes["assignee"] = assignee.email if assignee else None
    if patch.due_at is not None:
        task.due_at = patch.due_at
        changes["due_at"] = patch.due_at.isoformat()
    if patch.done is not None and patch.done != task.done:
        task.done, task.done_at = patch.done, (now if patch.done else None)
        task.done_by_id = actor.id if patch.done else None
        changes["done"] = patch.done
    if patch.note is not None and patch.note != task.done_note:
        task.done_note = changes["note"] = patch.note
    if changes:
        kind = EventKind.task_done if changes.get("done") is True else EventKind.task_updated
        await record(session, incident, actor, kind, now, task_id=task.id, title=task.title, changes=changes)
        incident.updated_at = now
    await session.flush()
    return task


async def list_tasks(*, session: AsyncSession, incident_id: int) -> list[Task]:
    query = select(Task).where(Task.incident_id == incident_id).order_by(Task.id)
    return list((await session.scalars(query)).all())


async def list_updates(
    *, session: AsyncSession, incident_id: int, audiences: tuple[str, ...]
) -> list[StatusUpdate]:
    query = select(StatusUpdate).where(
        StatusUpdate.incident_id == incident_id, StatusUpdate.audience.in_(audiences)
    )
    return list((await session.scalars(query.order_by(StatusUpdate.posted_at, StatusUpdate.id))).all())


LINK_TITLE_MAX = 200
LINK_URL_MAX = 2000


def _link_fields(title: str, url: str) -> tuple[str, str]:
    """The stripped title and URL, or the field that is wrong: only http(s) URLs with a host."""
    title, url = title.strip(), url.strip()
    if not title:
        raise invalid("title", "is required")
    if len(title) > LINK_TITLE_MAX:
        raise invalid("title", f"at most {LINK_TITLE_MAX} characters")
    if len(url) > LINK_URL_MAX:
        raise invalid("url", f"at most {LINK_URL_MAX} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise invalid("url", "is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise invalid("url", "must be an http:// or https:// address with a host")
    return title, url


async def add_link(
    *, session: AsyncSession, incident: Incident, title: str, url: str, actor: User | str, now: datetime
) -> IncidentLink:
    """`actor` is a user, or a label like "slack" when warroom adds the link itself."""
    title, url = _link_fields(title, url)
    added_by = actor.id if isinstance(actor, User) else None
    link = IncidentLink(incident_id=incident.id, title=title, url=url, added_by_id=added_by, added_at=now)
    session.add(link)
    await session.flush()
    await record(session, incident, actor, EventKind.link_added, now, link_id=link.id, title=title, url=url)
    incident.updated_at = now
    return link


async def remove_link(
    *, session: AsyncSession, incident: Incident, link_id: int, actor: User, now: datetime
) -> None:
    link = await session.get(IncidentLink, link_id)
    if link is None or link.incident_id != incident.id:
        raise NotFound(f"no link {link_id} on {domain.incident_ref(incident.id)}")
    await session.delete(link)
    await record(
        session, incident, actor, EventKind.link_removed, now, link_id=link_id, title=link.title, url=link.url
    )
    incident.updated_at = now
    await session.flush()


async def list_links(*, session: AsyncSession, incident_ids: list[int]) -> list[IncidentLink]:
    query = select(IncidentLink).where(IncidentLink.incident_id.in_(incident_ids))
    return list((await session.scalars(query.order_by(IncidentLink.id))).all())
