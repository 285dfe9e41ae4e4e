"""Shared by the restricted-incident tests: a security incident, a participant with a token and a signed-in
browser, and the six kinds of people the matrix asks about."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from tests.conftest import START
from tests.integration.conftest import Api
from tests.integration.web_helpers import PASSWORD, Browser, Web, cheap_hash, open_web, sign_in
from warroom.auth import service as auth

TITLE = "attacker has domain admin creds"
PARTICIPANT = "participant@test.warroom"
WHO = ("admin", "participant", "responder", "viewer", "stakeholder", "anonymous")
SEES = {"admin", "participant"}


async def add_person(api: Api, email: str, role: str) -> httpx.AsyncClient:
    """Another user with a token: an API client signed in as them."""
    async with api.context.db.write() as session:
        user = await auth.create_user(
            session=session, email=email, name=email.split("@")[0], role=role, now=START
        )
        user.password_hash = cheap_hash()
        secret = (await auth.create_token(session=session, user=user, name="test", now=START)).secret
        await session.commit()
    transport = httpx.ASGITransport(app=api.app)
    return httpx.AsyncClient(
        transport=transport, base_url="http://warroom.test", headers={"Authorization": f"Bearer {secret}"}
    )


async def declare_security(api: Api, client: httpx.AsyncClient | None = None, **extra: object) -> str:
    """A security P1, restricted by its type, declared by the admin unless `client` is given."""
    body = {"title": TITLE, "severity": "P1", "type": "security", "summary": "lateral movement", **extra}
    answer = await (client or api.admin).post("/api/v1/incidents", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["restricted"] is True
    return str(answer.json()["ref"])


@dataclass
class People:
    """An API client and a web browser per kind of person; the anonymous browser has no session."""

    api: dict[str, httpx.AsyncClient]
    web: dict[str, httpx.AsyncClient]


@asynccontextmanager
async def people(api: Api) -> AsyncIterator[People]:
    participant = await add_person(api, PARTICIPANT, "responder")
    async with open_web(api) as web:
        browser = Web(api=api).client()
        signed = await sign_in(browser, PARTICIPANT, PASSWORD)
        assert signed.status_code == 303, signed.text
        web.browsers["participant"] = Browser(browser, PARTICIPANT)
        anonymous = web.client()
        clients = {role: api.clients[role] for role in ("admin", "responder", "viewer", "stakeholder")}
        browsers = {role: web[role].client for role in ("admin", "responder", "viewer", "stakeholder")}
        try:
            yield People(
                api={**clients, "participant": participant, "anonymous": api.anonymous},
                web={**browsers, "participant": browser, "anonymous": anonymous},
            )
        finally:
            await participant.aclose()
            await anonymous.aclose()
