"""Thin routes: upload evidence (multipart), list it, download it (the access recorded first), hand it over,
read its chain of custody. Viewers and stakeholders may read the list, never the files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.auth.service import resolve_user
from warroom.context import AppContext
from warroom.deps import ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.errors import FieldProblem, InvalidInput, NotFound, invalid
from warroom.evidence import service, storage
from warroom.evidence.models import Evidence
from warroom.evidence.schemas import CustodyOut, EvidenceOut, HandOver
from warroom.incidents import views
from warroom.incidents.models import Incident
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import viewer_of
from warroom.problems import media_response, problem_responses

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


class TooLargeUpload(InvalidInput):
    """Over WARROOM_EVIDENCE_MAX_MB: nothing was kept (an InvalidInput, so a web form shows it in place)."""

    status = 413
    title = "Content too large"


async def evidence_out(session: AsyncSession, items: Sequence[Evidence]) -> list[EvidenceOut]:
    users = await views.users_by_id(session, [i for e in items for i in (e.collected_by_id, e.holder_id)])
    return [
        EvidenceOut(
            id=e.id, sha256=e.sha256, size=e.size, filename=e.filename, description=e.description,
            collected_from=e.collected_from, collected_at=e.collected_at,
            collected_by=views.user_ref(users.get(e.collected_by_id or 0)),
            holder=views.user_ref(users.get(e.holder_id or 0)), uploaded_at=e.uploaded_at,
        )
        for e in items
    ]  # fmt: skip


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while block := await upload.read(storage.CHUNK):
        yield block


async def store_upload(
    session: AsyncSession, context: AppContext, actor: User, incident: Incident, upload: UploadFile,
    details: tuple[str, str, datetime | None],
) -> Evidence:  # fmt: skip
    """The upload into the evidence store and onto the incident; 413 over WARROOM_EVIDENCE_MAX_MB."""
    settings = context.settings
    description, collected_from, collected_at = details
    try:
        limit = settings.evidence_max_mb * 1_048_576
        return await service.add(
            session=session, root=settings.resolved_evidence_dir(), limit=limit, actor=actor,
            incident=incident, chunks=_chunks(upload), filename=upload.filename,
            description=description, collected_from=collected_from, collected_at=collected_at,
            now=context.clock.now(),
        )  # fmt: skip
    except storage.TooLarge as error:
        raise TooLargeUpload(str(error), [FieldProblem("file", str(error))]) from None


def download_response(context: AppContext, item: Evidence) -> StreamingResponse:
    """Always an attachment of opaque bytes: evidence is never rendered by the browser."""
    quoted = item.filename.replace('"', "'").encode("ascii", "replace").decode()
    headers = {
        "Content-Disposition": f'attachment; filename="{quoted}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "X-Evidence-SHA256": item.sha256,
    }
    chunks = storage.read_chunks(context.settings.resolved_evidence_dir(), item.sha256)
    return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)


async def _incident(session: AsyncSession, context: AppContext, user: User, ref: str, lock: bool) -> Incident:
    viewer = viewer_of(user, context.procedure.procedure)
    return await get_incident(session=session, ref=ref, viewer=viewer, for_update=lock)


@router.post("/{ref}/evidence", status_code=201, response_model=EvidenceOut, responses=problem_responses(413))
async def upload_evidence(
    ref: str,
    user: IncidentWriter,
    session: WriteSession,
    context: ContextDep,
    # Optional here so that an incident the caller may not see is a 404 before anything else is said.
    file: Annotated[UploadFile | None, File(description="The file, stored by its sha256.")] = None,
    description: Annotated[str, Form(max_length=2_000)] = "",
    collected_from: Annotated[str, Form(max_length=300, description="The host or source.")] = "",
    collected_at: Annotated[datetime | None, Form(description="When it was collected; default now.")] = None,
) -> EvidenceOut:
    if collected_at is not None and collected_at.tzinfo is None:
        raise invalid("collected_at", "give a time zone (e.g. 2026-12-05T04:10:00Z)")
    incident = await _incident(session, context, user, ref, lock=True)
    if file is None:
        raise invalid("file", "send the file as the multipart field `file`")
    details = (description, collected_from, collected_at)
    item = await store_upload(session, context, user, incident, file, details)
    return (await evidence_out(session, [item]))[0]


@router.get("/{ref}/evidence", response_model=list[EvidenceOut])
async def list_evidence(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[EvidenceOut]:
    incident = await _incident(session, context, user, ref, lock=False)
    return await evidence_out(session, await service.list_for(session, incident.id))


@router.get(
    "/{ref}/evidence/{evidence_id}/download",
    response_class=StreamingResponse,
    responses=media_response("application/octet-stream", "The file, as an attachment")
    | problem_responses(409),
)
async def download_evidence(
    ref: str, evidence_id: int, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> StreamingResponse:
    """The file, after its download is on the chain of custody (and its hash checked: 409 if it changed)."""
    incident = await _incident(session, context, user, ref, lock=True)
    item = await service.get(session, incident, evidence_id)
    await service.downloaded(session=session, root=context.settings.resolved_evidence_dir(), actor=user,
                             incident=incident, item=item, via="api", now=context.clock.now())  # fmt: skip
    return download_response(context, item)


@router.post("/{ref}/evidence/{evidence_id}/handover", response_model=EvidenceOut)
async def hand_over(
    ref: str,
    evidence_id: int,
    body: HandOver,
    user: IncidentWriter,
    session: WriteSession,
    context: ContextDep,
) -> EvidenceOut:
    incident = await _incident(session, context, user, ref, lock=True)
    item = await service.get(session, incident, evidence_id)
    try:
        to = await resolve_user(session=session, ref=body.to)
    except NotFound as error:
        raise invalid("to", error.detail) from None
    await service.hand_over(session=session, actor=user, incident=incident, item=item, to=to, note=body.note,
                            now=context.clock.now())  # fmt: skip
    return (await evidence_out(session, [item]))[0]


@router.get("/{ref}/evidence/{evidence_id}/custody", response_model=list[CustodyOut])
async def custody(
    ref: str, evidence_id: int, user: InternalReader, session: ReadSession, context: ContextDep
) -> list[CustodyOut]:
    """Every collection, download and hand-over of the item, each with its place in the hash chain."""
    incident = await _incident(session, context, user, ref, lock=False)
    item = await service.get(session, incident, evidence_id)
    events = await service.custody(session, incident.id, item.id)
    return [
        CustodyOut(seq=e.seq, at=e.at, actor=e.actor, kind=e.kind, data=e.data or {}, hash=e.hash)
        for e in events
    ]
