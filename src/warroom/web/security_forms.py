"""The security forms of the incident page: tick an exit criterion, start a playbook step (asking for its
action), waive a step, approve an action; add or remove observables; add an asset. Each calls the API's
service function through `act` (PRG; refusals at the top)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.actions import service as actions
from warroom.deps import ContextDep
from warroom.errors import invalid
from warroom.evidence import service as evidence
from warroom.evidence.api import download_response, store_upload
from warroom.incidents import collaboration, playbooks
from warroom.incidents.models import Incident
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import viewer_of
from warroom.observables import assets
from warroom.observables import service as observables
from warroom.observables.schemas import AssetIn, ObservableAdd
from warroom.web.deps import PageWriter, csrf_checked, form_data, writing
from warroom.web.forms import text
from warroom.web.incident_actions import act

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)


@router.post("/incidents/{ref}/checklist")
async def tick(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    done = text(values, "done") != "0"

    async def change(session: AsyncSession, incident: Incident) -> None:
        index = text(values, "criterion")
        if not index.isdigit() or len(index) > 4:
            raise invalid("criterion", "give the criterion's number")
        await playbooks.tick_criterion(
            session=session, loaded=context.procedure, actor=user, incident=incident,
            phase=text(values, "phase")[:64], criterion=int(index), done=done, now=context.clock.now(),
        )  # fmt: skip

    return await act(request, context, user, ref, "guide", change, values=values,
                     done="Ticked" if done else "Unticked")  # fmt: skip


@router.post("/incidents/{ref}/tasks/{task_id}/start")
async def start_step(
    ref: str, task_id: int, request: Request, user: PageWriter, context: ContextDep
) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        task = await collaboration.get_task(session=session, incident=incident, task_id=task_id)
        await actions.start_step(
            session=session, loaded=context.procedure, actor=user, incident=incident, task=task,
            target=text(values, "target")[:300], now=context.clock.now(),
        )  # fmt: skip

    return await act(request, context, user, ref, "tasks", change, values=values, done="Step started")


@router.post("/incidents/{ref}/tasks/{task_id}/waive")
async def waive_step(
    ref: str, task_id: int, request: Request, user: PageWriter, context: ContextDep
) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        task = await collaboration.get_task(session=session, incident=incident, task_id=task_id)
        await playbooks.waive_step(
            session=session, actor=user, incident=incident, task=task, reason=text(values, "reason")[:2000],
            now=context.clock.now(),
        )  # fmt: skip

    return await act(request, context, user, ref, "tasks", change, values=values, done="Step waived")


@router.post("/incidents/{ref}/actions/{run_id}/approve")
async def approve(ref: str, run_id: int, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        run = await actions.get_run(session, incident, run_id)
        await actions.approve(
            session=session, loaded=context.procedure, actor=user, incident=incident, run=run,
            now=context.clock.now(),
        )  # fmt: skip

    return await act(request, context, user, ref, "tasks", change, values=values, done="Action approved")


@router.post("/incidents/{ref}/observables")
async def add_observables(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    """Unlike the API (which adds what it can), the form adds nothing while any line is refused: the text
    comes back with the line and the reason, to be fixed and sent again."""
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        data = ObservableAdd.model_validate(
            {"text": text(values, "text")[:200_000], "tlp": text(values, "tlp") or None}
        )
        added = await observables.add(session=session, actor=user, incident=incident, data=data,
                                      now=context.clock.now())  # fmt: skip
        if added.refused:
            first = added.refused[0]
            raise invalid("text", f"line {first.line} ({first.value}): {first.problem}")

    return await act(
        request, context, user, ref, "observables", change, values=values, done="Observables added"
    )


@router.post("/incidents/{ref}/observables/{observable_id}/delete")
async def remove_observable(
    ref: str, observable_id: int, request: Request, user: PageWriter, context: ContextDep
) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        item = await observables.get(session, incident, observable_id)
        await observables.remove(
            session=session, actor=user, incident=incident, item=item, now=context.clock.now()
        )

    return await act(
        request, context, user, ref, "observables", change, values=values, done="Observable removed"
    )


@router.post("/incidents/{ref}/assets")
async def add_asset(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident) -> None:
        data = AssetIn.model_validate({"kind": text(values, "kind"), "name": text(values, "name")[:300],
                                       "surface": text(values, "surface")})  # fmt: skip
        asset = await assets.create(session=session, data=data, now=context.clock.now())
        await assets.link(
            session=session, actor=user, incident=incident, asset=asset, now=context.clock.now()
        )

    return await act(request, context, user, ref, "assets", change, values=values, done="Asset added")


@router.post("/incidents/{ref}/evidence")
async def upload_evidence(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    upload = (await request.form()).get("file")

    async def change(session: AsyncSession, incident: Incident) -> None:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise invalid("file", "choose a file to upload")
        details = (text(values, "description")[:2000], text(values, "collected_from")[:300], None)
        await store_upload(session, context, user, incident, upload, details)

    return await act(request, context, user, ref, "evidence", change, values=values, done="Evidence stored")


@router.get("/incidents/{ref}/evidence/{evidence_id}/download")
async def download_evidence(ref: str, evidence_id: int, user: PageWriter, context: ContextDep) -> Response:
    """The file as an attachment, once its download is on the chain of custody (responders and admins)."""
    async with writing(context) as session:
        viewer = viewer_of(user, context.procedure.procedure)
        incident = await get_incident(session=session, ref=ref, viewer=viewer, for_update=True)
        item = await evidence.get(session, incident, evidence_id)
        root = context.settings.resolved_evidence_dir()
        await evidence.downloaded(session=session, root=root, actor=user, incident=incident, item=item,
                                  via="web", now=context.clock.now())  # fmt: skip
    return download_response(context, item)
