"""The war room's forms: post an update, change severity or phase, assign roles, tasks, links, attach alerts.

Each calls the same service function as the API, inside a transaction that commits only on success. A refused
form re-renders the page with the message next to its field and the typed values kept (status 409/422).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts import drill_end
from warroom.alerts import service as alerts
from warroom.auth.models import User
from warroom.comms import service as comms
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, InvalidInput, NotFound, invalid
from warroom.incidents import access, collaboration, milestones, service
from warroom.incidents.models import Incident
from warroom.incidents.schemas import IncidentPatch, MilestoneRecord, TaskCreate, TaskPatch, UpdateCreate
from warroom.incidents.visibility import viewer_of
from warroom.web.deps import PageWriter, csrf_checked, form_data, writing
from warroom.web.forms import FormValues, as_list, refused, text
from warroom.web.incident_pages import canonical, show_incident
from warroom.web.render import redirect, redirect_refused

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
Change = Callable[[AsyncSession, Incident], Awaitable[None]]


async def act(
    request: Request,
    context: AppContext,
    user: User,
    ref: str,
    form: str,
    change: Change,
    *,
    values: FormValues,
    done: str,
    renames: Mapping[str, str] | None = None,
) -> Response:
    """Run `change` on the locked incident; on success redirect (PRG), on refusal show the form again."""
    try:
        async with writing(context) as session:
            incident = await service.get_incident(
                session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure), for_update=True
            )
            await change(session, incident)
    except (InvalidInput, Conflict, ValidationError) as error:
        state = refused(values, error, renames=renames)
        status = error.status if isinstance(error, Conflict | InvalidInput) else 422
        back = redirect_refused(request, f"/incidents/{canonical(ref)}#refused", form, state, status)
        return back or await show_incident(request, context, user, ref, forms={form: state}, status=status)
    return redirect(request, f"/incidents/{canonical(ref)}#{form}", flash=done)


@router.post("/incidents/{ref}/updates")
async def post_update(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        audience = text(values, "audience") or "internal"
        # The form shows the severity's audiences as checkboxes: what is ticked is where it goes.
        chosen = (
            as_list(values, "audiences")
            if audience == "stakeholder" and "audiences_shown" in values
            else None
        )
        data = UpdateCreate(audience=audience, body=text(values, "body"), audiences=chosen)
        await comms.post_update(
            session=session, loaded=context.procedure, actor=user, incident=incident, data=data,
            now=context.clock.now(), base_url=context.settings.resolved_base_url(),
        )  # fmt: skip

    audience = text(values, "audience")
    done = "Stakeholder update posted" if audience == "stakeholder" else "Note added to the timeline"
    return await act(request, context, user, ref, "update", change, values=values, done=done)


@router.post("/incidents/{ref}/severity")
async def change_severity(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        patch = IncidentPatch(
            severity=text(values, "severity") or None, severity_reason=text(values, "severity_reason")
        )
        if patch.severity is None:
            raise invalid("severity", "choose a severity")
        await service.update_incident(
            session=session,
            loaded=context.procedure,
            actor=user,
            incident=incident,
            patch=patch,
            now=context.clock.now(),
        )

    return await act(request, context, user, ref, "severity", change, values=values, done="Severity changed")


@router.post("/incidents/{ref}/restriction")
async def change_restriction(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    """Restrict the incident to its participants, or lift it: its commander or an admin (else 403)."""
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        patch = IncidentPatch(restricted=text(values, "restricted") == "1")
        await service.update_incident(
            session=session, loaded=context.procedure, actor=user, incident=incident, patch=patch,
            now=context.clock.now(),
        )  # fmt: skip

    done = "Restricted to participants" if text(values, "restricted") == "1" else "No longer restricted"
    return await act(request, context, user, ref, "restriction", change, values=values, done=done)


@router.post("/incidents/{ref}/drill/end")
async def end_drill(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    """End a drill: paging stops, its alerts are resolved, it is closed (its commander or an admin)."""
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        await drill_end.end_drill(
            session=session, procedure=context.procedure.procedure, actor=user, incident=incident,
            now=context.clock.now(),
        )  # fmt: skip

    return await act(request, context, user, ref, "drill", change, values=values, done="Drill ended")


@router.post("/incidents/{ref}/participants")
async def add_participant(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    """Let someone into a restricted incident: its commander or an admin (else 403); on the timeline."""
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        wanted = text(values, "user")
        if not wanted:
            raise invalid("user", "give the person's email")
        await access.add_participant(
            session=session, actor=user, incident=incident, user_ref=wanted, now=context.clock.now()
        )

    return await act(
        request, context, user, ref, "restriction", change, values=values, done="Participant added"
    )


@router.post("/incidents/{ref}/phase")
async def change_phase(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        await service.move_phase(
            session=session,
            loaded=context.procedure,
            actor=user,
            incident=incident,
            target=text(values, "phase"),
            reason=text(values, "reason")[:2000],
            now=context.clock.now(),
            review_published=context.review_published,
        )

    return await act(request, context, user, ref, "phase", change, values=values, done="Phase changed")


@router.post("/incidents/{ref}/roles/waive")
async def waive_role(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        await collaboration.waive_roles(
            session=session, loaded=context.procedure, actor=user, incident=incident,
            roles=[text(values, "role")], reason=text(values, "reason"), now=context.clock.now(),
        )  # fmt: skip

    return await act(
        request, context, user, ref, "waive", change, values=values, done="Role waived",
        renames={"roles": "role"},
    )  # fmt: skip


def _when(values: FormValues, now: datetime) -> datetime:
    """The form's date and time, read as UTC (the page says so); now when left empty."""
    raw = text(values, "at")
    if not raw:
        return now
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    except ValueError:
        raise invalid("at", "give a date and time like 2026-03-01 09:30") from None


@router.post("/incidents/{ref}/milestones")
async def record_milestone(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        body = MilestoneRecord.model_validate(
            {"milestone": text(values, "milestone"), "note": text(values, "note")}
        )
        now = context.clock.now()
        await milestones.record_milestone(
            session=session, incident=incident, actor=user, milestone=body.milestone,
            at=_when(values, now), note=body.note, now=now,
        )  # fmt: skip

    return await act(
        request, context, user, ref, "milestone", change, values=values, done="Milestone recorded"
    )


@router.post("/incidents/{ref}/roles")
async def change_role(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    unassign = text(values, "action") == "unassign"

    async def change(session: AsyncSession, incident: Incident) -> None:
        if not text(values, "user"):
            raise invalid("user", "name someone (email)")
        move = collaboration.unassign_role if unassign else collaboration.assign_role
        await move(
            session=session,
            loaded=context.procedure,
            actor=user,
            incident=incident,
            role=text(values, "role"),
            user_ref=text(values, "user"),
            now=context.clock.now(),
        )

    form = "unassign" if unassign else "roles"
    return await act(
        request,
        context,
        user,
        ref,
        form,
        change,
        values=values,
        done="Role taken back" if unassign else "Role assigned",
    )


@router.post("/incidents/{ref}/acknowledge")
async def acknowledge(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        await service.acknowledge(session=session, actor=user, incident=incident, now=context.clock.now())

    return await act(request, context, user, ref, "header", change, values=values, done="Acknowledged")


@router.post("/incidents/{ref}/tasks")
async def add_task(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        data = TaskCreate(title=text(values, "title"), assignee=text(values, "assignee") or None)
        await collaboration.add_task(
            session=session, actor=user, incident=incident, data=data, now=context.clock.now()
        )

    return await act(request, context, user, ref, "tasks", change, values=values, done="Task added")


@router.post("/incidents/{ref}/tasks/{task_id}")
async def toggle_task(
    ref: str, task_id: int, request: Request, user: PageWriter, context: ContextDep
) -> Response:
    values = await form_data(request)
    done = text(values, "done") == "1"

    async def change(session: AsyncSession, incident: Incident) -> None:
        task = await collaboration.get_task(session=session, incident=incident, task_id=task_id)
        await collaboration.update_task(
            session=session,
            actor=user,
            incident=incident,
            task=task,
            patch=TaskPatch(done=done, note=text(values, "note")[:5000] or None),
            now=context.clock.now(),
        )

    return await act(
        request,
        context,
        user,
        ref,
        "tasks",
        change,
        values=values,
        done="Task done" if done else "Task reopened",
    )


@router.post("/incidents/{ref}/links")
async def add_link(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        await collaboration.add_link(
            session=session,
            incident=incident,
            title=text(values, "title"),
            url=text(values, "url"),
            actor=user,
            now=context.clock.now(),
        )

    return await act(request, context, user, ref, "links", change, values=values, done="Link added")


@router.post("/incidents/{ref}/links/{link_id}/delete")
async def remove_link(
    ref: str, link_id: int, request: Request, user: PageWriter, context: ContextDep
) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        await collaboration.remove_link(
            session=session, incident=incident, link_id=link_id, actor=user, now=context.clock.now()
        )

    return await act(request, context, user, ref, "links", change, values=values, done="Link removed")


@router.post("/incidents/{ref}/alerts")
async def attach_alert(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        wanted = text(values, "alert").lstrip("#")
        if not wanted:
            raise invalid("alert", "give the alert's number")
        try:
            viewer = viewer_of(user, context.procedure.procedure)
            alert = await alerts.get_alert(session=session, ref=wanted, viewer=viewer, for_update=True)
        except (Conflict, NotFound) as error:
            raise invalid("alert", error.detail) from None
        await alerts.attach(
            session=session, alert=alert, incident=incident, actor=user, now=context.clock.now()
        )

    return await act(request, context, user, ref, "alerts", change, values=values, done="Alert attached")
