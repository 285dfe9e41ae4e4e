"""The public JSON API, shaped like Atlassian Statuspage's public v2 API (/status/api/v2/...), so widgets and
monitors made for Statuspage read it unchanged. No authentication; published items only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.deps import ContextDep
from warroom.statuspage import domain, views
from warroom.statuspage.models import StatusIncident
from warroom.statuspage.views import Board, Json, PageInfo, Published

router = APIRouter(prefix="/status/api/v2", tags=["status page (public)"])
RECENT = 50  # Statuspage's incidents.json: the 50 most recent


def _answer(body: Json) -> JSONResponse:
    # Public data, polled by widgets on other sites: readable cross-origin, cached briefly.
    headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=30"}
    return JSONResponse(body, headers=headers)


async def _unresolved(session: AsyncSession) -> Published:
    query = views.published("incident").where(StatusIncident.status != "resolved")
    return await views.load(
        session, query.order_by(StatusIncident.published_at.desc(), StatusIncident.id.desc())
    )


async def _incidents(session: AsyncSession) -> Published:
    query = views.published("incident").order_by(StatusIncident.published_at.desc(), StatusIncident.id.desc())
    return await views.load(session, query.limit(RECENT))


async def _maintenances(session: AsyncSession, statuses: tuple[str, ...] | None = None) -> Published:
    query = views.published("maintenance")
    if statuses:
        query = query.where(StatusIncident.status.in_(statuses))
    order = (StatusIncident.scheduled_for.desc(), StatusIncident.id.desc())
    if statuses == ("scheduled",):
        order = (StatusIncident.scheduled_for.asc(), StatusIncident.id.asc())  # the soonest first
    return await views.load(session, query.order_by(*order).limit(RECENT))


Body = Callable[[AsyncSession, Board, PageInfo], Awaitable[Json]]


async def _respond(context: Any, body: Body) -> JSONResponse:
    page = views.page_info(context.settings)
    async with context.db.read() as session:
        board = await views.board(session)
        content = await body(session, board, page)
        updated = await views.last_change(session, board)
    return _answer({"page": views.page_json(page, updated), **content})


def _status(board: Board, unresolved: Published) -> Json:
    indicator, description = views.overall(board, unresolved.items)
    return {"indicator": indicator, "description": description}


def _components(board: Board, page: PageInfo) -> list[Json]:
    return [views.component_json(row, board, page) for row in board.in_order()]


@router.get("/summary.json")
async def summary(context: ContextDep) -> JSONResponse:
    """Status, components, unresolved incidents, and upcoming or in-progress maintenances."""

    async def body(session: AsyncSession, board: Board, page: PageInfo) -> Json:
        unresolved = await _unresolved(session)
        maintenances = await _maintenances(session, domain.OPEN_MAINTENANCE)
        return {
            "components": _components(board, page),
            "incidents": views.incidents_json(unresolved, board, page),
            "scheduled_maintenances": views.incidents_json(maintenances, board, page),
            "status": _status(board, unresolved),
        }

    return await _respond(context, body)


@router.get("/status.json")
async def status(context: ContextDep) -> JSONResponse:
    async def body(session: AsyncSession, board: Board, page: PageInfo) -> Json:
        return {"status": _status(board, await _unresolved(session))}

    return await _respond(context, body)


@router.get("/components.json")
async def components(context: ContextDep) -> JSONResponse:
    async def body(session: AsyncSession, board: Board, page: PageInfo) -> Json:
        return {"components": _components(board, page)}

    return await _respond(context, body)


@router.get("/incidents.json")
async def incidents(context: ContextDep) -> JSONResponse:
    """The 50 most recent incidents, resolved ones included."""

    async def body(session: AsyncSession, board: Board, page: PageInfo) -> Json:
        return {"incidents": views.incidents_json(await _incidents(session), board, page)}

    return await _respond(context, body)


@router.get("/incidents/unresolved.json")
async def unresolved(context: ContextDep) -> JSONResponse:
    async def body(session: AsyncSession, board: Board, page: PageInfo) -> Json:
        return {"incidents": views.incidents_json(await _unresolved(session), board, page)}

    return await _respond(context, body)


def _maintenance_route(path: str, statuses: tuple[str, ...] | None, doc: str) -> None:
    async def endpoint(context: ContextDep) -> JSONResponse:
        async def body(session: AsyncSession, board: Board, page: PageInfo) -> Json:
            found = await _maintenances(session, statuses)
            return {"scheduled_maintenances": views.incidents_json(found, board, page)}

        return await _respond(context, body)

    endpoint.__doc__ = doc
    endpoint.__name__ = f"maintenances_{path.replace('/', '_').replace('.', '_').replace('-', '_')}"
    router.add_api_route(path, endpoint, methods=["GET"])


_maintenance_route("/scheduled-maintenances.json", None, "The 50 most recent scheduled maintenances.")
_maintenance_route("/scheduled-maintenances/upcoming.json", ("scheduled",), "Maintenances yet to start.")
_maintenance_route(
    "/scheduled-maintenances/active.json", domain.ACTIVE_MAINTENANCE, "Maintenances in progress."
)
