"""A small status page for the status page tests: a group of two components and one ungrouped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.integration.conftest import Api


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@dataclass(frozen=True)
class Board:
    group: int
    api_component: int
    web_component: int
    search_component: int


async def board(api: Api) -> Board:
    group = await ok(await api.admin.post("/api/v1/status-page/groups", json={"name": "Core"}), 201)
    made = []
    for name, in_group in (("API", True), ("Web", True), ("Search", False)):
        body = {"name": name, "description": f"The {name}", "group_id": group["id"] if in_group else None}
        made.append(await ok(await api.admin.post("/api/v1/status-page/components", json=body), 201))
    return Board(group["id"], made[0]["id"], made[1]["id"], made[2]["id"])


async def publish(api: Api, name: str, components: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body = {"name": name, "body": f"We are looking into {name}.", "components": components, **extra}
    created: dict[str, Any] = await ok(
        await api.responder.post("/api/v1/status-page/incidents", json=body), 201
    )
    return created
