"""The incident page (the war room) and its live regions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warroom.auth.domain import Permission, allows
from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.incidents.access import log_read
from warroom.incidents.domain import incident_ref
from warroom.web.deps import PageReader, csrf_checked
from warroom.web.forms import FormState
from warroom.web.incident_data import load_incident_page
from warroom.web.render import render, take_refused

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)


async def show_incident(
    request: Request,
    context: AppContext,
    user: User,
    ref: str,
    *,
    forms: Mapping[str, FormState] | None = None,
    status: int = 200,
) -> Response:
    """The whole page, or only its live regions when the page script asks for them (`?fragment=1`)."""
    now = context.clock.now()
    async with context.db.read() as session:
        page = await load_incident_page(
            session=session,
            loaded=context.procedure,
            user=user,
            ref=ref,
            now=now,
            everything=request.query_params.get("timeline") == "all",
            changes_window=timedelta(hours=context.settings.recent_changes_hours),
            value_property=context.settings.hubspot_value_property,
        )
    if not request.query_params.get("fragment"):  # the live page's own refreshes are not new reads
        await log_read(db=context.db, incident=page.incident, reader=user, via="web", now=now)
    template = "incident_regions.html" if request.query_params.get("fragment") else "incident.html"
    return render(
        request,
        template,
        status=status,
        user=user,
        page=page,
        incident=page.incident,
        procedure=context.procedure.procedure,
        now=now,
        forms={"severity": FormState(values={"severity": page.incident.severity}), **(forms or {})},
        own_refusal=True,  # incident.html says why at the top itself, with a link to the form
        # A closed incident is a record: no edit forms, only the way to reopen it (for those who may write).
        **({"can_write": False, "can_reopen": can_write(user)} if page.incident.status == "closed" else {}),
        title=f"{page.incident.ref} {page.incident.title}",
    )


def can_write(user: User) -> bool:
    return allows(user.role, Permission.incident_write)


@router.get("/incidents/{ref}")
async def incident_page(ref: str, request: Request, user: PageReader, context: ContextDep) -> Response:
    # A form refused on this page, shown once with what was typed (not to the live region's own refreshes).
    carried = None if request.query_params.get("fragment") else take_refused(request)
    if carried is None:
        return await show_incident(request, context, user, ref)
    form, state, status = carried
    return await show_incident(request, context, user, ref, forms={form: state}, status=status)


def canonical(ref: str) -> str:
    """`inc-7` and `7` both mean INC-7 (unknown refs are left for the lookup to refuse)."""
    from warroom.incidents.domain import parse_ref

    found = parse_ref(ref)
    return incident_ref(found) if found is not None else ref
