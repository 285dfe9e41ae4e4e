"""An app on the test database, driven through httpx's ASGI transport, with a frozen clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import START
from tests.fakes.sink import Sink, running_sink
from warroom.app import create_app
from warroom.auth import service as auth
from warroom.clock import FrozenClock
from warroom.config import Settings
from warroom.context import AppContext
from warroom.demo import load_demo

ROLES = ("admin", "responder", "viewer", "stakeholder")


@dataclass
class Api:
    """A client per role against one app, plus the app's clock and context for tests that need them."""

    clients: dict[str, httpx.AsyncClient]
    anonymous: httpx.AsyncClient
    clock: FrozenClock
    context: AppContext
    app: FastAPI
    emails: dict[str, str] = field(default_factory=dict)

    async def load_demo(self) -> None:
        """The demo organisation (`warroom run`'s first-run data), at this app's clock."""
        async with self.context.db.write() as session:
            await load_demo(
                session=session,
                loaded=self.context.procedure,
                now=self.clock.now(),
                base_url=self.context.settings.resolved_base_url(),
            )
            await session.commit()

    def __getattr__(self, role: str) -> httpx.AsyncClient:
        try:
            return self.clients[role]
        except KeyError:
            raise AttributeError(role) from None


async def _tokens(context: AppContext) -> tuple[dict[str, str], dict[str, str]]:
    tokens, emails = {}, {}
    async with context.db.write() as session:
        for role in ROLES:
            user = await auth.create_user(
                session=session, email=f"{role}@test.warroom", name=role.title(), role=role, now=START
            )
            tokens[role] = (
                await auth.create_token(session=session, user=user, name="test", now=START)
            ).secret
            emails[role] = user.email
        await session.commit()
    return tokens, emails


@pytest.fixture
async def api(db_url: str, data_dir: Path) -> AsyncIterator[Api]:
    clock = FrozenClock(START)
    app = create_app(Settings(database_url=db_url, data_dir=data_dir), clock=clock)
    context: AppContext = app.state.warroom
    async with app.router.lifespan_context(app):
        tokens, emails = await _tokens(context)
        transport = httpx.ASGITransport(app=app)
        clients = {
            role: httpx.AsyncClient(
                transport=transport,
                base_url="http://warroom.test",
                headers={"Authorization": f"Bearer {token}"},
            )
            for role, token in tokens.items()
        }
        anonymous = httpx.AsyncClient(transport=transport, base_url="http://warroom.test")
        try:
            yield Api(
                clients=clients, anonymous=anonymous, clock=clock, context=context, app=app, emails=emails
            )
        finally:
            for client in [*clients.values(), anonymous]:
                await client.aclose()


async def fill_required_roles(api: Api, ref: str, role: str = "responder") -> None:
    """Assign every role the incident's severity still needs to the `role` user, as resolving requires."""
    client = api.clients[role]
    roles = await client.get(f"/api/v1/incidents/{ref}/roles")
    assert roles.status_code == 200, roles.text
    for needed in roles.json()["missing"]:
        assigned = await client.post(
            f"/api/v1/incidents/{ref}/roles", json={"role": needed, "user": api.emails[role]}
        )
        assert assigned.status_code == 200, assigned.text


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A webhook receiver on loopback that keeps what it was sent (modules may define their own)."""
    with running_sink() as running:
        yield running
