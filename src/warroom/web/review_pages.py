"""The post-incident review in the browser: read it, curate its timeline, write it, name reviewers, publish
it, add action items, and download it as Markdown. Every form calls the same service as the API; a refusal
comes back as a message at the top of the page and changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import DomainError, NotFound
from warroom.inbound import row_id
from warroom.incidents.access import log_read
from warroom.incidents.models import Incident
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import viewer_of
from warroom.reviews import actions, service, views
from warroom.reviews.html_export import incident_review_html
from warroom.reviews.models import ACTION_STATUSES, ACTION_TYPES, Review
from warroom.reviews.pdf_export import review_pdf
from warroom.reviews.schemas import ActionItemCreate, ActionItemPatch, CurationPatch, NoteCreate, ReviewPatch
from warroom.web.deps import PageInternal, PageWriter, csrf_checked, form_data, writing
from warroom.web.forms import FormValues, text
from warroom.web.incident_pages import canonical
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
Change = Callable[[AsyncSession, Incident, Review], Awaitable[None]]
TEXT_FIELDS = (
    "summary", "impact", "trigger", "detection", "detection_improvement",
    "went_well", "went_wrong", "got_lucky",
)  # fmt: skip
LIST_FIELDS = ("five_whys", "contributing_factors")


@router.get("/incidents/{ref}/review")
async def review_page(ref: str, request: Request, user: PageInternal, context: ContextDep) -> Response:
    today = context.clock.now().date()
    async with context.db.read() as session:
        incident = await get_incident(
            session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure)
        )
        review = await service.find_review(session=session, incident_id=incident.id)
        shown = lines = None
        if review is not None:
            shown = await views.review_out(
                session=session,
                procedure=context.procedure.procedure,
                incident=incident,
                review=review,
                today=today,
            )
            lines = await service.curated_timeline(
                session=session, procedure=context.procedure.procedure, review=review, include_hidden=True
            )
    return render(
        request, "review.html", user=user, incident=incident, ref=canonical(ref), review=shown, lines=lines,
        currency=context.procedure.procedure.currency,
        action_types=ACTION_TYPES, action_statuses=ACTION_STATUSES, title=f"Review of {canonical(ref)}",
    )  # fmt: skip


@router.get("/incidents/{ref}/review.{kind}")
async def review_export(ref: str, kind: str, user: PageInternal, context: ContextDep) -> Response:
    """`review.md` (Markdown), `review.html` (a standalone page with print CSS) or `review.pdf`, the last
    two as downloads."""
    if kind not in ("md", "html", "pdf"):
        raise NotFound(f"no export as {kind!r}; use review.md, review.html or review.pdf")
    async with context.db.read() as session:
        incident, body = await views.exported_markdown(
            session=session,
            procedure=context.procedure.procedure,
            ref=ref,
            viewer=viewer_of(user, context.procedure.procedure),
            today=context.clock.now().date(),
        )
    await log_read(db=context.db, incident=incident, reader=user, via="export", now=context.clock.now())
    if kind == "md":
        return PlainTextResponse(body, media_type="text/markdown; charset=utf-8")
    page = incident_review_html(incident, body)
    download = {"Content-Disposition": f'attachment; filename="review-INC-{incident.id}.{kind}"'}
    if kind == "pdf":
        return Response(await review_pdf(page), media_type="application/pdf", headers=download)
    return HTMLResponse(page, headers=download)


async def _act(
    request: Request, context: AppContext, user: User, ref: str, change: Change, done: str
) -> Response:
    here = f"/incidents/{canonical(ref)}/review"
    viewer = viewer_of(user, context.procedure.procedure)
    try:
        async with writing(context) as session:
            incident = await get_incident(session=session, ref=ref, viewer=viewer, for_update=True)
            review = await service.get_review(session=session, incident=incident)
            await change(session, incident, review)
    except NotFound:
        raise  # an incident this user may not see does not exist: a 404, never a flash saying so
    except DomainError as error:
        return redirect(request, here, flash=error.detail, tone="error")
    except ValidationError as error:
        problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        return redirect(request, here, flash=problem, tone="error")
    return redirect(request, here, flash=done)


@router.post("/incidents/{ref}/review/draft")
async def draft(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    async with writing(context) as session:
        incident = await get_incident(
            session=session, ref=ref, viewer=viewer_of(user, context.procedure.procedure), for_update=True
        )
        await service.draft_review(
            session=session,
            procedure=context.procedure.procedure,
            incident=incident,
            actor=user,
            now=context.clock.now(),
        )
    return redirect(request, f"/incidents/{canonical(ref)}/review", flash="Review drafted")


def _patch(values: FormValues, questions: list[str]) -> ReviewPatch:
    """The edit form as a patch; the template's questions come as answer-0, answer-1, ... in their order."""
    fields: dict[str, object] = {name: text(values, name) for name in TEXT_FIELDS}
    fields["answers"] = {q: text(values, f"answer-{i}") for i, q in enumerate(questions)}
    for name in LIST_FIELDS:
        fields[name] = [line.strip() for line in text(values, name).splitlines() if line.strip()]
    customers = text(values, "customers_affected")
    fields["customers_affected"] = row_id(customers)
    return ReviewPatch.model_validate(fields)


@router.post("/incidents/{ref}/review/edit")
async def edit(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident, review: Review) -> None:
        procedure = context.procedure.procedure
        patch = _patch(values, service.questions(procedure, review))
        await service.update_review(
            session=session, procedure=procedure, incident=incident, review=review, patch=patch, actor=user,
            now=context.clock.now(),
        )  # fmt: skip

    return await _act(request, context, user, ref, change, "Review saved")


CURATION = {
    "highlight": CurationPatch(highlighted=True), "unhighlight": CurationPatch(highlighted=False),
    "hide": CurationPatch(hidden=True), "show": CurationPatch(hidden=False),
}  # fmt: skip


def _annotation(values: FormValues) -> CurationPatch:
    """A note on the event and, if given, its corrected time (UTC); the event keeps its recorded time."""
    fields: dict[str, object] = {"note": text(values, "note")}
    if text(values, "at"):
        fields["at"] = datetime.fromisoformat(text(values, "at")).replace(tzinfo=UTC)
    return CurationPatch.model_validate(fields)


@router.post("/incidents/{ref}/review/timeline/{seq}")
async def curate(ref: str, seq: int, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    action = text(values, "action")

    async def change(session: AsyncSession, _incident: Incident, review: Review) -> None:
        patch = CURATION.get(action) or _annotation(values)
        await service.curate(
            session=session, review=review, seq=seq, patch=patch, actor=user, now=context.clock.now()
        )

    return await _act(request, context, user, ref, change, f"Timeline event #{seq} updated")


@router.post("/incidents/{ref}/review/notes")
async def note(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, _incident: Incident, review: Review) -> None:
        at = datetime.fromisoformat(text(values, "at")).replace(tzinfo=UTC) if text(values, "at") else None
        data = NoteCreate.model_validate({"at": at, "note": text(values, "note")})
        await service.add_note(session=session, review=review, data=data, actor=user, now=context.clock.now())

    return await _act(request, context, user, ref, change, "Note added to the review timeline")


@router.post("/incidents/{ref}/review/reviewers")
async def reviewer(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident, review: Review) -> None:
        await service.add_reviewer(
            session=session, incident=incident, review=review, user_ref=text(values, "user"), actor=user,
            now=context.clock.now(),
        )  # fmt: skip

    return await _act(request, context, user, ref, change, "Reviewer added")


@router.post("/incidents/{ref}/review/status")
async def status(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    target = text(await form_data(request), "status")

    async def change(session: AsyncSession, incident: Incident, review: Review) -> None:
        await service.change_status(
            session=session,
            incident=incident,
            review=review,
            target=target,
            actor=user,
            now=context.clock.now(),
        )

    return await _act(request, context, user, ref, change, f"Review is now {target.replace('_', ' ')}")


@router.post("/incidents/{ref}/review/action-items")
async def action_item(ref: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident, review: Review) -> None:
        fields = {k: text(values, k) or None for k in ("title", "type", "owner", "due_on", "tracker_url")}
        data = ActionItemCreate.model_validate({k: v for k, v in fields.items() if v is not None})
        await actions.add_action_item(
            session=session, incident=incident, review=review, data=data, actor=user, now=context.clock.now()
        )

    return await _act(request, context, user, ref, change, "Action item added")


@router.post("/incidents/{ref}/review/action-items/{item_id}")
async def action_item_status(
    ref: str, item_id: int, request: Request, user: PageWriter, context: ContextDep
) -> Response:
    """Move an action item along (open, in progress, done, won't do): allowed after publication too."""
    values = await form_data(request)

    async def change(session: AsyncSession, incident: Incident, _review: Review) -> None:
        item = await actions.get_action_item(session=session, item_id=item_id)
        if item.incident_id != incident.id:
            raise NotFound(f"no action item {item_id} on this incident")
        patch = ActionItemPatch.model_validate({"status": text(values, "status")})
        await actions.update_action_item(
            session=session, incident=incident, item=item, patch=patch, actor=user, now=context.clock.now()
        )

    return await _act(request, context, user, ref, change, "Action item updated")
