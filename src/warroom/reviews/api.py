"""Thin routes for an incident's review (/api/v1/incidents/{ref}/review...) and for action items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.auth.service import resolve_user
from warroom.context import AppContext
from warroom.deps import ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.incidents.access import log_read
from warroom.incidents.domain import parse_ref
from warroom.incidents.models import Incident
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import Viewer, viewer_of
from warroom.problems import media_response, problem_responses
from warroom.reviews import actions, service, views
from warroom.reviews.html_export import incident_review_html
from warroom.reviews.models import Review
from warroom.reviews.pdf_export import review_pdf
from warroom.reviews.schemas import (
    ActionItemCreate,
    ActionItemOut,
    ActionItemPatch,
    CurationPatch,
    NoteCreate,
    ReviewerAdd,
    ReviewOut,
    ReviewPatch,
    StatusChange,
    TimelineLineOut,
)

router = APIRouter(prefix="/api/v1/incidents/{ref}/review", tags=["reviews"])
items_router = APIRouter(prefix="/api/v1/action-items", tags=["reviews"])


def _viewer(user: User, context: AppContext) -> Viewer:
    return viewer_of(user, context.procedure.procedure)


async def _locked(session: AsyncSession, ref: str, viewer: Viewer) -> tuple[Incident, Review]:
    incident = await get_incident(session=session, ref=ref, viewer=viewer, for_update=True)
    return incident, await service.get_review(session=session, incident=incident)


async def _out(context: AppContext, session: AsyncSession, incident: Incident, review: Review) -> ReviewOut:
    today = context.clock.now().date()
    return await views.review_out(
        session=session, procedure=context.procedure.procedure, incident=incident, review=review, today=today
    )


@router.get("", response_model=ReviewOut)
async def show(ref: str, user: InternalReader, session: ReadSession, context: ContextDep) -> ReviewOut:
    incident = await get_incident(session=session, ref=ref, viewer=_viewer(user, context))
    return await _out(
        context, session, incident, await service.get_review(session=session, incident=incident)
    )


@router.post("", response_model=ReviewOut, status_code=201)
async def draft(ref: str, user: IncidentWriter, session: WriteSession, context: ContextDep) -> ReviewOut:
    """Draft the review now (it is drafted anyway on entering review); an existing one is kept."""
    incident = await get_incident(session=session, ref=ref, viewer=_viewer(user, context), for_update=True)
    review, _ = await service.draft_review(
        session=session,
        procedure=context.procedure.procedure,
        incident=incident,
        actor=user,
        now=context.clock.now(),
    )
    return await _out(context, session, incident, review)


@router.patch("", response_model=ReviewOut)
async def edit(
    ref: str, body: ReviewPatch, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> ReviewOut:
    incident, review = await _locked(session, ref, _viewer(user, context))
    now = context.clock.now()
    await service.update_review(
        session=session,
        procedure=context.procedure.procedure,
        incident=incident,
        review=review,
        patch=body,
        actor=user,
        now=now,
    )
    return await _out(context, session, incident, review)


@router.post("/status", response_model=ReviewOut)
async def status(
    ref: str, body: StatusChange, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> ReviewOut:
    incident, review = await _locked(session, ref, _viewer(user, context))
    now = context.clock.now()
    await service.change_status(
        session=session, incident=incident, review=review, target=body.status, actor=user, now=now
    )
    return await _out(context, session, incident, review)


@router.post("/reviewers", response_model=ReviewOut)
async def reviewers(
    ref: str, body: ReviewerAdd, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> ReviewOut:
    incident, review = await _locked(session, ref, _viewer(user, context))
    now = context.clock.now()
    await service.add_reviewer(
        session=session, incident=incident, review=review, user_ref=body.user, actor=user, now=now
    )
    return await _out(context, session, incident, review)


@router.get("/timeline", response_model=list[TimelineLineOut])
async def timeline(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep, include_hidden: bool = False
) -> list[TimelineLineOut]:
    incident = await get_incident(session=session, ref=ref, viewer=_viewer(user, context))
    review = await service.get_review(session=session, incident=incident)
    lines = await service.curated_timeline(
        session=session, procedure=context.procedure.procedure, review=review, include_hidden=include_hidden
    )
    return [TimelineLineOut(**vars(line)) for line in lines]


@router.patch("/timeline/{seq}", status_code=204)
async def curate(
    ref: str,
    seq: int,
    body: CurationPatch,
    user: IncidentWriter,
    session: WriteSession,
    context: ContextDep,
) -> None:
    _, review = await _locked(session, ref, _viewer(user, context))
    now = context.clock.now()
    await service.curate(session=session, review=review, seq=seq, patch=body, actor=user, now=now)


@router.post("/notes", status_code=204)
async def note(
    ref: str, body: NoteCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> None:
    _, review = await _locked(session, ref, _viewer(user, context))
    await service.add_note(session=session, review=review, data=body, actor=user, now=context.clock.now())


async def _exported(session: AsyncSession, context: AppContext, ref: str, user: User) -> tuple[Incident, str]:
    exported = await views.exported_markdown(
        session=session,
        procedure=context.procedure.procedure,
        ref=ref,
        viewer=_viewer(user, context),
        today=context.clock.now().date(),
    )
    await log_read(db=context.db, incident=exported[0], reader=user, via="export", now=context.clock.now())
    return exported


@router.get("/export.md", response_class=Response, responses=media_response("text/markdown", "The review"))
async def export_markdown(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> Response:
    incident, text = await _exported(session, context, ref, user)
    slug = f"review-INC-{incident.id}.md"
    headers = {"Content-Disposition": f'inline; filename="{slug}"'}
    return Response(text, media_type="text/markdown; charset=utf-8", headers=headers)


@router.get("/export.html", response_class=HTMLResponse)
async def export_html(
    ref: str, user: InternalReader, session: ReadSession, context: ContextDep
) -> HTMLResponse:
    """A standalone page with print CSS inline; sent as a download, since it carries its own styles."""
    incident, text = await _exported(session, context, ref, user)
    headers = {"Content-Disposition": f'attachment; filename="review-INC-{incident.id}.html"'}
    return HTMLResponse(incident_review_html(incident, text), headers=headers)


@router.get(
    "/export.pdf",
    response_class=Response,
    responses=media_response("application/pdf", "The review as A4 pages") | problem_responses(503),
)
async def export_pdf(ref: str, user: InternalReader, session: ReadSession, context: ContextDep) -> Response:
    """The HTML export laid out as an A4 PDF (503 where the server lacks the Pango library)."""
    incident, text = await _exported(session, context, ref, user)
    pdf = await review_pdf(incident_review_html(incident, text))
    headers = {"Content-Disposition": f'attachment; filename="review-INC-{incident.id}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.post("/action-items", response_model=ActionItemOut, status_code=201)
async def add_item(
    ref: str, body: ActionItemCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> ActionItemOut:
    incident = await get_incident(session=session, ref=ref, viewer=_viewer(user, context), for_update=True)
    now = context.clock.now()
    review, _ = await service.draft_review(
        session=session, procedure=context.procedure.procedure, incident=incident, actor=user, now=now
    )
    item = await actions.add_action_item(
        session=session, incident=incident, review=review, data=body, actor=user, now=now
    )
    return (await views.action_items_out(session, [item], now.date()))[0]


@items_router.get("", response_model=list[ActionItemOut])
async def list_items(
    user: InternalReader,
    session: ReadSession,
    context: ContextDep,
    overdue: bool = False,
    owner: Annotated[str | None, Query(max_length=320, description="Email or id")] = None,
    incident: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> list[ActionItemOut]:
    today = context.clock.now().date()
    owner_id = (await resolve_user(session=session, ref=owner)).id if owner else None
    incident_id = parse_ref(incident) if incident else None
    items = await actions.list_action_items(
        session=session,
        viewer=_viewer(user, context),
        today=today,
        overdue=overdue,
        owner_id=owner_id,
        incident_id=incident_id,
        status=status,
    )
    return await views.action_items_out(session, items, today)


@items_router.patch("/{item_id}", response_model=ActionItemOut)
async def edit_item(
    item_id: int, body: ActionItemPatch, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> ActionItemOut:
    item = await actions.get_action_item(session=session, item_id=item_id)
    incident = await get_incident(
        session=session, ref=str(item.incident_id), viewer=_viewer(user, context), for_update=True
    )
    now = context.clock.now()
    await actions.update_action_item(
        session=session, incident=incident, item=item, patch=body, actor=user, now=now
    )
    return (await views.action_items_out(session, [item], now.date()))[0]
