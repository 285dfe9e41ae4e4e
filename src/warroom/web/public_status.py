"""The public status page: /status, /status/history, /status/incidents/{id}, the Atom feed, and the
subscribe, confirm and unsubscribe pages. No sign-in, no session cookie, no CSRF token (nothing here acts
for a signed-in user: the subscription links carry their own tokens). Pure HTML and CSS, no script.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import DomainError, NotFound
from warroom.statuspage import domain, feed, page_data, subscribers, views
from warroom.statuspage.models import StatusIncident, StatusSubscriber
from warroom.web.render import web_state

router = APIRouter(prefix="/status", include_in_schema=False)
HISTORY_PAGE = 25
READABLE = {
    "email": "Enter an email address, like name@example.com.",
    "components": "Choose components from the list.",
}


@cache
def stylesheet_version() -> str:
    return hashlib.sha256((files("warroom.web") / "static" / "status.css").read_bytes()).hexdigest()[:10]


def when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC") if value else ""


def page(
    request: Request,
    context: AppContext,
    template: str,
    *,
    status: int = 200,
    private: bool = False,
    **values: Any,
) -> Response:
    """Render a status template: no user, no session (the app's middleware adds the security headers)."""
    info = views.page_info(context.settings)
    env = web_state(request).templates
    html = env.get_template(f"status/{template}").render(
        page=info,
        css_version=stylesheet_version(),
        labels=domain.LABELS,
        when=when,
        path=request.url.path,
        **values,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store" if private or status != 200 else "public, max-age=30"
    return response


async def _index(
    request: Request, context: AppContext, *, status: int = 200, form: dict[str, Any] | None = None
) -> Response:
    async with context.db.read() as session:
        data = await page_data.status_page(session, context.clock.now())
    form = form or {"email": "", "components": [], "error": "", "message": ""}
    return page(request, context, "index.html", status=status, data=data, form=form, private=status != 200)


@router.get("")
async def index(request: Request, context: ContextDep) -> Response:
    return await _index(request, context)


@router.post("")
async def subscribe(request: Request, context: ContextDep) -> Response:
    """The subscribe form: an email address, optionally some components; a confirmation link is mailed."""
    posted = await request.form()
    email = str(posted.get("email", "")).strip()
    chosen = [str(v) for v in posted.getlist("components")]
    form: dict[str, Any] = {"email": email, "components": chosen, "error": "", "message": ""}
    try:
        components = [int(v) for v in chosen]
    except ValueError:
        form["error"] = "Choose components from the list."
        return await _index(request, context, status=422, form=form)
    secret = context.settings.ensure_secret_key().get_secret_value()
    source = subscribers.source_hash(secret, request.client.host) if request.client else None
    try:
        async with context.db.write_turn, context.db.write() as session:
            await subscribers.subscribe_email(
                session=session,
                address=email,
                component_ids=components,
                source=source,
                page=views.page_info(context.settings),
                now=context.clock.now(),
            )
            await session.commit()
    except DomainError as error:
        field = error.problems[0].field if error.problems else ""
        form["error"] = READABLE.get(field, error.detail[:1].upper() + error.detail[1:] + ".")
        return await _index(request, context, status=error.status, form=form)
    form["message"] = (
        f"Check {email}: we sent a link to confirm the subscription (if it is not confirmed yet)."
    )
    return await _index(request, context, form={**form, "email": "", "components": []})


@router.get("/history")
async def history(
    request: Request, context: ContextDep, page_number: Annotated[int, Query(alias="page")] = 1
) -> Response:
    """Every published incident and completed maintenance, newest first, by month."""
    number = max(1, min(page_number, 10_000))
    query = select(StatusIncident).where(
        StatusIncident.published_at.is_not(None),
        (StatusIncident.kind == "incident") | (StatusIncident.status == "completed"),
    )
    query = query.order_by(StatusIncident.started_at.desc(), StatusIncident.id.desc())
    query = query.offset((number - 1) * HISTORY_PAGE).limit(HISTORY_PAGE + 1)
    async with context.db.read() as session:
        board = await views.board(session)
        found = page_data.items(await views.load(session, query), board)
    months: dict[date, list[page_data.Item]] = {}
    for item in found[:HISTORY_PAGE]:
        months.setdefault(page_data.shown_on(item.incident).replace(day=1), []).append(item)
    return page(
        request,
        context,
        "history.html",
        months=list(months.items()),
        number=number,
        more=len(found) > HISTORY_PAGE,
    )


@router.get("/history.atom")
async def atom(request: Request, context: ContextDep) -> Response:
    info = views.page_info(context.settings)
    async with context.db.read() as session:
        body = await feed.atom(session, info, context.clock.now())
    headers = {"Cache-Control": "public, max-age=60"}
    return Response(body, media_type="application/atom+xml; charset=utf-8", headers=headers)


@router.get("/incidents/{item_id}")
async def incident(item_id: int, request: Request, context: ContextDep) -> Response:
    async with context.db.read() as session:
        board = await views.board(session)
        found = page_data.items(
            await views.load(
                session,
                select(StatusIncident).where(
                    StatusIncident.id == item_id, StatusIncident.published_at.is_not(None)
                ),
            ),
            board,
        )
    if not found:
        return page(
            request,
            context,
            "message.html",
            status=404,
            heading="Not found",
            text="There is no such incident on this page.",
        )
    return page(request, context, "incident.html", item=found[0])


def _link_form(
    request: Request, context: AppContext, action: str, subscriber: StatusSubscriber, token: str
) -> Response:
    heading = "Confirm your subscription" if action == "confirm" else "Unsubscribe"
    return page(
        request,
        context,
        "link.html",
        private=True,
        action=action,
        subscriber=subscriber,
        token=token,
        heading=heading,
    )


async def _link_page(
    request: Request, context: AppContext, subscriber_id: int, token: str, action: str
) -> Response:
    """A link opens a page with one button, so a mail scanner that follows links changes nothing."""
    try:
        async with context.db.read() as session:
            found = await subscribers.check_link(
                session=session, subscriber_id=subscriber_id, token=token, confirm=action == "confirm"
            )
    except NotFound as error:
        return page(request, context, "message.html", status=404, heading="Link not valid", text=error.detail)
    return _link_form(request, context, action, found, token)


@router.get("/subscriptions/{subscriber_id}/confirm")
async def confirm_page(
    subscriber_id: int, request: Request, context: ContextDep, token: str = ""
) -> Response:
    return await _link_page(request, context, subscriber_id, token[:200], "confirm")


@router.get("/subscriptions/{subscriber_id}/unsubscribe")
async def unsubscribe_page(
    subscriber_id: int, request: Request, context: ContextDep, token: str = ""
) -> Response:
    return await _link_page(request, context, subscriber_id, token[:200], "unsubscribe")


async def _token(request: Request) -> str:
    posted = await request.form()
    return str(posted.get("token") or request.query_params.get("token") or "")[:200]


@router.post("/subscriptions/{subscriber_id}/confirm")
async def confirm(subscriber_id: int, request: Request, context: ContextDep) -> Response:
    token = await _token(request)
    try:
        async with context.db.write_turn, context.db.write() as session:
            await subscribers.confirm(
                session=session, subscriber_id=subscriber_id, token=token, now=context.clock.now()
            )
            await session.commit()
    except NotFound as error:
        return page(request, context, "message.html", status=404, heading="Link not valid", text=error.detail)
    return page(
        request,
        context,
        "message.html",
        private=True,
        heading="You are subscribed",
        text="You will receive an email when an incident or maintenance is posted.",
    )


@router.post("/subscriptions/{subscriber_id}/unsubscribe")
async def unsubscribe(subscriber_id: int, request: Request, context: ContextDep) -> Response:
    """The button on the page, or a mail client's RFC 8058 one-click POST (`List-Unsubscribe=One-Click`,
    token in the URL)."""
    token = await _token(request)
    try:
        async with context.db.write_turn, context.db.write() as session:
            await subscribers.unsubscribe(session=session, subscriber_id=subscriber_id, token=token)
            await session.commit()
    except NotFound as error:
        return page(request, context, "message.html", status=404, heading="Link not valid", text=error.detail)
    return page(
        request,
        context,
        "message.html",
        private=True,
        heading="You are unsubscribed",
        text="You will receive no more notices from this page.",
    )
