"""Routers added to an app as their routes, not as `include_router` nodes.

FastAPI 0.137 and later keep each included router as a node and build, on an app's first request, a second
copy of every route's state for that include (its dependencies, parameters and response models): ~350 ms
for warroom's ~270 routes, paid on the first request after a start and by every app a test builds (1,200
tests here). warroom's routers take no include-time options (a router's prefix, tags and dependencies are
baked into its routes when they are declared), so its routes are complete as they stand and the app can
hold them directly: their state is built once per process, when the modules are imported.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute


def add_routes(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Append each router's routes to the app, in order. A router that needs what only `include_router`
    does (a nested router, or start-up and shut-down handlers to merge) is refused, not half-added."""
    for router in routers:
        nested = [route for route in router.routes if not isinstance(route, APIRoute)]
        if nested or router.on_startup or router.on_shutdown:
            raise ValueError(f"router {router.prefix or '/'} needs include_router: {nested[:1]}")
        app.router.routes.extend(router.routes)
