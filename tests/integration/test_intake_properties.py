"""Random JSON through every intake route, into SQLite and PostgreSQL side by side (#13): never a 5xx, and the
same answer and the same stored alerts from both databases.

Bodies are each sender's own example with a random value grafted in at any of its fields (so most requests
reach the store), or random JSON whole; strings include NUL, lone surrogates and every other code point.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import START, empty_all_tables
from tests.integration.test_intake import fixture
from warroom.app import create_app
from warroom.clock import FrozenClock
from warroom.config import Settings

ROUTES = {  # route -> (integration kind, the sender's example body)
    "pagerduty": ("pagerduty", "pagerduty_trigger.json"),
    "opsgenie": ("opsgenie", "opsgenie_create.json"),
    "alertmanager": ("alertmanager", "alertmanager_firing.json"),
    "grafana": ("grafana", "grafana_firing.json"),
    "datadog": ("datadog", "datadog_triggered.json"),
    "newrelic": ("newrelic", "newrelic_activated.json"),
    "webhook": ("webhook", "webhook_generic.json"),
}
VOLATILE = {
    "requestId",
    "request_id",
    "took",
    "id",
    "uid",
    "alert_id",
    "alert_uid",
    "incident_id",
    "first_seen_at",
    "last_seen_at",
    "created_at",
}

# What real senders were seen to send, and what an attacker would: each drawn often, not left to chance.
KNOWN_HOSTILE: list[Any] = [
    "a\x00b",
    "\x00",
    "x\ud800y",
    "\udfff",
    "x" * 300,
    "y" * 5000,
    "³",
    "",
    2**70,
    1e308,
]
hostile_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | hostile_text
)
random_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)
json_values = st.sampled_from(KNOWN_HOSTILE) | random_json


def leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a scalar (and to each container) in `value`: where a random value may be grafted."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += leaf_paths(item, (*prefix, index))
    return paths


def graft(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`body` with the node at `path` replaced by `value`."""
    if not path:
        return value
    result = copy.deepcopy(body)
    node = result
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return result


def example(route: str) -> Any:
    body = fixture(ROUTES[route][1])
    if route == "pagerduty":
        body["routing_key"] = "ROUTING-KEY"
    return body


# A route, and where in its example body the random value goes (the whole body is one choice).
targets = st.sampled_from(sorted(ROUTES)).flatmap(
    lambda route: st.tuples(st.just(route), st.sampled_from(leaf_paths(example(route))))
)


class Side:
    """One database's app, with the same integrations created in the same order as the other side's."""

    def __init__(self, client: httpx.AsyncClient, keys: dict[str, str]) -> None:
        self.client, self.keys = client, keys

    async def send(self, route: str, body: bytes) -> tuple[int, Any]:
        key = self.keys[route]
        headers = {"content-type": "application/json"}
        if route == "pagerduty":
            body = body.replace(b"ROUTING-KEY", key.encode())
            answer = await self.client.post("/v2/enqueue", content=body, headers=headers)
        elif route == "opsgenie":
            headers["authorization"] = f"GenieKey {key}"
            answer = await self.client.post("/v2/alerts", content=body, headers=headers)
        else:
            answer = await self.client.post(f"/intake/{route}/{key}", content=body, headers=headers)
        return answer.status_code, _stable(answer.json())

    async def stored(self) -> list[Any]:
        listed = await self.client.get("/api/v1/alerts", params={"limit": 200})
        assert listed.status_code == 200, listed.text
        return sorted(
            (_stable(a) for a in listed.json()["items"]), key=lambda a: json.dumps(a, sort_keys=True)
        )


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


@asynccontextmanager
async def side(stack: AsyncExitStack, url: str, data_dir: Path) -> AsyncIterator[Side]:
    app = create_app(Settings(database_url=url, data_dir=data_dir), clock=FrozenClock(START))
    await stack.enter_async_context(app.router.lifespan_context(app))
    token = await _admin_token(app)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://warroom.test",
        headers={"Authorization": f"Bearer {token}"},
    )
    await stack.enter_async_context(client)
    await client.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    keys = {}
    for route, (kind, _) in ROUTES.items():
        created = await client.post("/api/v1/integrations", json={"kind": kind, "service": "checkout"})
        assert created.status_code == 201, created.text
        keys[route] = created.json()["key"]
    yield Side(client, keys)


async def _admin_token(app: Any) -> str:
    from warroom.auth import service as auth

    async with app.state.warroom.db.write() as session:
        user = await auth.create_user(
            session=session, email="admin@test.warroom", name="A", role="admin", now=START
        )
        secret = (await auth.create_token(session=session, user=user, name="t", now=START)).secret
        await session.commit()
    return str(secret)


def body_for(route: str, path: tuple[Any, ...], value: Any) -> bytes:
    chosen = graft(example(route), path, value)
    return json.dumps(chosen, ensure_ascii=True).encode()  # ensure_ascii: lone surrogates as \\ud800 escapes


@pytest.mark.postgres
def test_random_json_never_fails_intake_and_both_databases_agree(
    sqlite_database: str, postgresql_database: str, tmp_path: Path
) -> None:
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        lite = loop.run_until_complete(
            stack.enter_async_context(side(stack, sqlite_database, tmp_path / "a"))
        )
        pg = loop.run_until_complete(
            stack.enter_async_context(side(stack, postgresql_database, tmp_path / "b"))
        )

        @settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(target=targets, value=json_values)
        def same_everywhere(target: tuple[str, tuple[Any, ...]], value: Any) -> None:
            route, path = target
            body = body_for(route, path, value)
            answers = [loop.run_until_complete(s.send(route, body)) for s in (lite, pg)]
            assert all(status < 500 for status, _ in answers), answers
            assert answers[0] == answers[1]

        same_everywhere()
        assert loop.run_until_complete(lite.stored()) == loop.run_until_complete(pg.stored())
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
        for url in (sqlite_database, postgresql_database):
            empty_all_tables(url)
