"""/scim/v2's routes (RFC 7644); what each does is the function of the same name in
warroom.identity.scim_handlers, given the path's parameters.

The handlers stand on scim2_models, whose import took 0.6-0.9 s of the server's ~5 s start here, paid by
every `warroom serve` whether or not an identity provider ever provisions through it. So they load on the
first SCIM request, in a thread: the event loop keeps answering intake and pages meanwhile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import Response

from warroom.deps import ContextDep
from warroom.lazy_import import imported

HANDLERS = "warroom.identity.scim_handlers"
ROUTES = (  # (path, methods, handler); the first match wins, so the catch-all comes last
    ("/.search", ["POST"], "search_everything"),
    ("/{resource}", ["GET"], "listing"),
    ("/{resource}/.search", ["POST"], "search"),
    ("/{resource}", ["POST"], "create"),
    ("/{resource}/{resource_id}", ["GET"], "read"),
    ("/{resource}/{resource_id}", ["PUT"], "replace"),
    ("/{resource}/{resource_id}", ["PATCH"], "patch"),
    ("/{resource}/{resource_id}", ["DELETE"], "remove"),
    ("/{anything:path}", ["GET", "POST", "PUT", "PATCH", "DELETE"], "unknown"),
)
Handler = Callable[..., Awaitable[Response]]


def _endpoint(name: str) -> Callable[[Request, ContextDep], Awaitable[Response]]:
    async def endpoint(request: Request, context: ContextDep) -> Response:
        handlers = await imported(HANDLERS)
        handler = cast(Handler, getattr(handlers, name))
        return await handler(**request.path_params, request=request, context=context)

    endpoint.__name__ = f"scim_{name}"
    return endpoint


router = APIRouter(prefix="/scim/v2", include_in_schema=False)
for _path, _methods, _name in ROUTES:
    router.add_api_route(_path, _endpoint(_name), methods=_methods)
