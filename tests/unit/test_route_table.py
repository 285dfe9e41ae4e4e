"""warroom.route_table: routers' routes held by the app directly, and a router that needs include_router
refused rather than half-added."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from warroom.route_table import add_routes


def test_routes_keep_their_router_prefix_and_answer() -> None:
    router = APIRouter(prefix="/api/v1/things", tags=["things"])

    @router.get("/{thing_id}")
    def one(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    app = FastAPI()
    add_routes(app, [router])
    with TestClient(app) as client:
        assert client.get("/api/v1/things/7").json() == {"id": 7}
        assert client.get("/api/v1/things/x").status_code == 422
    assert app.openapi()["paths"]["/api/v1/things/{thing_id}"]["get"]["tags"] == ["things"]


def test_a_router_with_a_nested_router_is_refused_and_nothing_is_added() -> None:
    outer, inner = APIRouter(), APIRouter()

    @inner.get("/inner")
    def inside() -> None:
        return None

    outer.include_router(inner)
    app = FastAPI()
    before = list(app.routes)
    with pytest.raises(ValueError, match="needs include_router"):
        add_routes(app, [outer])
    assert app.routes == before
