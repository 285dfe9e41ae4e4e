"""What /scim/v2 does (the routes are warroom.identity.scim_api): the identity provider provisions people
and groups (RFC 7644). Bearer-token protected by WARROOM_SCIM_TOKEN (off when unset); answers are
application/scim+json, errors SCIM Error messages, and a refused request writes nothing."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from scim2_models import (
    Context,
    Group,
    InvalidValueException,
    ListResponse,
    NotFoundException,
    PatchOp,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    ScimFilter,
    SearchRequest,
    UnauthorizedException,
    User,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.deps import ContextDep
from warroom.identity import scim_discovery as discovery
from warroom.identity import scim_store as store
from warroom.identity.models import ScimGroup, ScimUser

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
DISCOVERY = ("ServiceProviderConfig", "ResourceTypes", "Schemas")
SEARCH_PARAMETERS = (
    "filter",
    "startIndex",
    "count",
    "attributes",
    "excludedAttributes",
    "sortBy",
    "sortOrder",
)
Work = Callable[[AsyncSession], Awaitable[Any]]


class ScimAnswer(JSONResponse):
    media_type = "application/scim+json"


@dataclass(frozen=True)
class Kind:
    """One resource endpoint (/Users or /Groups) over its store functions."""

    model: Any
    row: Any
    write: Callable[..., Awaitable[Any]]
    get: Callable[[AsyncSession, str], Awaitable[Any]]
    delete: Callable[[AsyncSession, Any, Any], Awaitable[None]]
    view: Callable[[AsyncSession, Any, str], Awaitable[Any]]

    async def matching(self, session: AsyncSession, search: SearchRequest[Any], base: str) -> list[Any]:
        """The resources the filter matches, in id order (filters run on the documents, in memory)."""
        rows = await session.scalars(select(self.row).order_by(self.row.id))
        found = [await self.view(session, row, base) for row in rows]
        if not search.filter:
            return found
        matcher: ScimFilter[Any] = ScimFilter[self.model](str(search.filter))  # type: ignore[name-defined]
        return [item for item in found if matcher.match(item)]


KINDS = {
    "Users": Kind(User, ScimUser, store.write_user, store.get_user, store.delete_user, store.user_model),
    "Groups": Kind(
        Group, ScimGroup, store.write_group, store.get_group, store.delete_group, store.group_model
    ),
}


def _failure(error: SCIMException) -> Response:
    body = error.to_error().model_dump(mode="json", exclude_none=True)
    return ScimAnswer(body, status_code=int(body.get("status", 400)))


def _check_client(request: Request, context: ContextDep) -> None:
    token = context.settings.scim_token
    if token is None:
        raise NotFoundException(detail="SCIM provisioning is off here (set WARROOM_SCIM_TOKEN)")
    sent = request.headers.get("authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token.get_secret_value()}".encode()):
        raise UnauthorizedException(detail="a valid bearer token is required")


def _not_allowed(request: Request) -> Response:
    body = {"schemas": [ERROR_SCHEMA], "status": "405", "detail": f"{request.method} is not allowed here"}
    return ScimAnswer(body, status_code=405)


def _base(context: ContextDep) -> str:
    return f"{context.settings.resolved_base_url()}/scim/v2"


async def _answer(request: Request, context: ContextDep, work: Work, status: int = 200) -> Response:
    """The client checked, then `work` in one write transaction; a SCIM error (or an invalid body)
    becomes its SCIM message, and nothing is written."""
    try:
        _check_client(request, context)
        async with context.db.write_turn, context.db.write() as session:
            body = await work(session)
            await session.commit()
    except SCIMException as error:
        return _failure(error)
    except ValidationError as error:
        return _failure(InvalidValueException(detail=" ".join(str(error).split())[:500]))
    return Response(status_code=204) if body is None else ScimAnswer(body, status_code=status)


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise InvalidValueException(detail="the body is not JSON") from None


def _kind(resource: str) -> Kind:
    if resource not in KINDS:
        raise NotFoundException(detail=f"no SCIM endpoint /{resource[:100]}")
    return KINDS[resource]


def _dump(model: Any, ctx: Context, request: Request) -> dict[str, Any]:
    query = request.query_params
    wanted = {k: query[k] for k in ("attributes", "excludedAttributes") if query.get(k)}
    params: ResponseParameters[Any] = ResponseParameters.model_validate(wanted)
    dumped: dict[str, Any] = model.model_dump(mode="json", scim_ctx=ctx, response_parameters=params)
    return dumped


def _page(found: list[Any], search: SearchRequest[Any], model: Any) -> dict[str, Any]:
    start = max(1, search.start_index or 1)
    limit = discovery.MAX_RESULTS if search.count is None else search.count
    page = found[start - 1 : start - 1 + min(max(limit, 0), discovery.MAX_RESULTS)]
    listed = ListResponse[model](total_results=len(found), start_index=start, items_per_page=len(page),
                                 resources=page)  # fmt: skip
    params: ResponseParameters[Any] = ResponseParameters(
        attributes=search.attributes, excluded_attributes=search.excluded_attributes
    )
    dumped: dict[str, Any] = listed.model_dump(
        mode="json", scim_ctx=Context.SEARCH_RESPONSE, response_parameters=params
    )
    return dumped


async def _discovered(resource: str, item: str | None, context: ContextDep) -> dict[str, Any]:
    base = _base(context)
    if resource == "ServiceProviderConfig":
        if item is not None:
            raise NotFoundException(detail="the ServiceProviderConfig has no sub-resources")
        return discovery.service_provider_config()
    found, model = (
        (discovery.resource_types(base), ResourceType)
        if resource == "ResourceTypes"
        else (discovery.schemas(base), Schema)
    )
    return discovery.listed(found, model) if item is None else discovery.one(found, item, resource)


async def search_everything(request: Request, context: ContextDep) -> Response:
    """A search across Users and Groups (RFC 7644 §3.4.3): a filter naming an attribute one type lacks
    matches nothing of that type."""

    async def work(session: AsyncSession) -> Any:
        search: SearchRequest[Any] = SearchRequest.model_validate(
            await _json(request), scim_ctx=Context.SEARCH_REQUEST
        )
        found = [
            item for kind in KINDS.values() for item in await kind.matching(session, search, _base(context))
        ]
        return _page(found, search, User | Group)

    return await _answer(request, context, work)


async def listing(resource: str, request: Request, context: ContextDep) -> Response:
    async def work(session: AsyncSession) -> Any:
        if resource in DISCOVERY:
            return await _discovered(resource, None, context)
        kind = _kind(resource)
        query = {k: v for k, v in request.query_params.items() if k in SEARCH_PARAMETERS}
        search: SearchRequest[Any] = SearchRequest.model_validate(query, scim_ctx=Context.SEARCH_REQUEST)
        return _page(await kind.matching(session, search, _base(context)), search, kind.model)

    return await _answer(request, context, work)


async def search(resource: str, request: Request, context: ContextDep) -> Response:
    async def work(session: AsyncSession) -> Any:
        kind = _kind(resource)
        search: SearchRequest[Any] = SearchRequest.model_validate(
            await _json(request), scim_ctx=Context.SEARCH_REQUEST
        )
        return _page(await kind.matching(session, search, _base(context)), search, kind.model)

    return await _answer(request, context, work)


async def create(resource: str, request: Request, context: ContextDep) -> Response:
    if resource in DISCOVERY:
        return _not_allowed(request)

    async def work(session: AsyncSession) -> Any:
        kind = _kind(resource)
        model = kind.model.model_validate(await _json(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        row = await kind.write(session, model, context.clock.now())
        return _dump(
            await kind.view(session, row, _base(context)), Context.RESOURCE_CREATION_RESPONSE, request
        )

    return await _answer(request, context, work, 201)


async def read(resource: str, resource_id: str, request: Request, context: ContextDep) -> Response:
    async def work(session: AsyncSession) -> Any:
        if resource in DISCOVERY:
            return await _discovered(resource, resource_id, context)
        kind = _kind(resource)
        row = await kind.get(session, resource_id)
        return _dump(await kind.view(session, row, _base(context)), Context.RESOURCE_QUERY_RESPONSE, request)

    return await _answer(request, context, work)


async def replace(resource: str, resource_id: str, request: Request, context: ContextDep) -> Response:
    async def work(session: AsyncSession) -> Any:
        kind = _kind(resource)
        row = await kind.get(session, resource_id)
        model = kind.model.model_validate(await _json(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        row = await kind.write(session, model, context.clock.now(), row)
        return _dump(
            await kind.view(session, row, _base(context)), Context.RESOURCE_REPLACEMENT_RESPONSE, request
        )

    return await _answer(request, context, work)


async def patch(resource: str, resource_id: str, request: Request, context: ContextDep) -> Response:
    """The operations applied to the resource as it reads now, then written back as a replacement."""

    async def work(session: AsyncSession) -> Any:
        kind = _kind(resource)
        row = await kind.get(session, resource_id)
        operations: PatchOp[Any] = PatchOp[kind.model].model_validate(  # type: ignore[name-defined]
            await _json(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST
        )
        current = await kind.view(session, row, _base(context))
        operations.patch(current)
        row = await kind.write(session, current, context.clock.now(), row)
        return _dump(await kind.view(session, row, _base(context)), Context.RESOURCE_PATCH_RESPONSE, request)

    return await _answer(request, context, work)


async def remove(resource: str, resource_id: str, request: Request, context: ContextDep) -> Response:
    async def work(session: AsyncSession) -> None:
        kind = _kind(resource)
        await kind.delete(session, await kind.get(session, resource_id), context.clock.now())

    return await _answer(request, context, work)


async def unknown(anything: str, request: Request, context: ContextDep) -> Response:
    """Anything else under /scim/v2: 405 on a known endpoint (e.g. POST /Schemas), else a SCIM 404."""
    if anything.split("/", 1)[0] in (*DISCOVERY, *KINDS):
        return _not_allowed(request)

    async def work(_session: AsyncSession) -> Any:
        raise NotFoundException(detail=f"no SCIM endpoint /{anything[:200]}")

    return await _answer(request, context, work)
