"""/report: anyone signed in, stakeholders included, reports a problem ("the site is down"); it opens a
triage incident, pages the service's on-call, and says what happens next (issue #14, item 8)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from warroom.auth.models import User
from warroom.catalog.service import list_services
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.incidents.domain import incident_ref
from warroom.reports.api import refuse_a_flood
from warroom.reports.service import report_problem
from warroom.web.deps import PageReader, csrf_checked, form_data, writing
from warroom.web.forms import FormState, refused, text
from warroom.web.render import render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
FIELDS = frozenset({"what", "service", "seeing"})  # a problem with anything else is the form's message


async def _form(
    request: Request, context: AppContext, user: User, form: FormState, status: int = 200
) -> Response:
    async with context.db.read() as session:
        services = await list_services(session=session)
    return render(request, "report.html", status=status, user=user, form=form, services=services, done=None,
                  title="Report a problem")  # fmt: skip


@router.get("/report")
async def report_form(request: Request, user: PageReader, context: ContextDep) -> Response:
    return await _form(request, context, user, FormState())


@router.post("/report")
async def report(request: Request, user: PageReader, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        refuse_a_flood(context, user)
        async with writing(context) as session:
            done = await report_problem(
                session=session, loaded=context.procedure, actor=user, what=text(values, "what"),
                service=text(values, "service"), seeing=text(values, "seeing"), now=context.clock.now(),
            )  # fmt: skip
            ref = incident_ref(done.incident.id)
    except (InvalidInput, Conflict, NotFound, ValidationError) as error:
        status = error.status if isinstance(error, InvalidInput | Conflict | NotFound) else 422
        shown = refused(values, error, renames={"services": "service"}, fields=FIELDS)
        return await _form(request, context, user, shown, status=status)
    answer = {"ref": ref, "paged": done.paged, "target": done.response_target}
    return render(request, "report.html", user=user, form=FormState(), services=[], done=answer,
                  title=f"Reported as {ref}")  # fmt: skip
