"""Stakeholder lists: each audience of the procedure with who is on its list; writers add and remove."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warroom.auth.models import User
from warroom.comms import service as comms
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.web.deps import PageInternal, PageWriter, csrf_checked, form_data, writing
from warroom.web.forms import FormState, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
FIELDS = frozenset({"channel", "address", "label"})
CHANNELS = [
    ("email", "Email"),
    ("webhook", "Webhook (JSON)"),
    ("apprise", "Apprise URL (Slack, Teams, ...)"),
    ("log", "Server log (testing)"),
]


async def _page(
    request: Request, context: AppContext, user: User, *, forms: dict[str, FormState] | None = None,
    status: int = 200,
) -> Response:  # fmt: skip
    async with context.db.read() as session:
        rows = await comms.list_recipients(session=session)
    audiences = context.procedure.procedure.communications.audiences
    by_audience = {a.id: [r for r in rows if r.audience == a.id] for a in audiences}
    return render(
        request, "stakeholders.html", status=status, user=user, audiences=audiences, lists=by_audience,
        channels=CHANNELS,
        forms=forms or {}, title="Stakeholder lists",
    )  # fmt: skip


@router.get("/stakeholders")
async def stakeholders(request: Request, user: PageInternal, context: ContextDep) -> Response:
    return await _page(request, context, user)


@router.post("/stakeholders/{audience}")
async def add(audience: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            row = await comms.add_recipient(
                session=session, loaded=context.procedure, audience=audience,
                channel=text(values, "channel") or "email", address=text(values, "address"),
                label=text(values, "label"), now=context.clock.now(),
            )  # fmt: skip
    except (InvalidInput, Conflict) as error:
        state = refused(values, error, fields=FIELDS)
        return await _page(request, context, user, forms={audience: state}, status=error.status)
    return redirect(request, f"/stakeholders#list-{audience}", flash=f"{row.address} added to {audience}")


@router.post("/stakeholders/{audience}/{recipient_id}/remove")
async def remove(
    audience: str, recipient_id: int, request: Request, user: PageWriter, context: ContextDep
) -> Response:
    try:
        async with writing(context) as session:
            await comms.remove_recipient(session=session, recipient_id=recipient_id)
    except NotFound:
        return redirect(request, f"/stakeholders#list-{audience}", flash="That entry was already removed")
    return redirect(request, f"/stakeholders#list-{audience}", flash="Removed from the list")
