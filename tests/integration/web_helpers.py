"""Browsers-without-a-browser for the web UI tests: an httpx client per role that keeps cookies and signs in
through the real sign-in form, and helpers to read the CSRF token and field errors out of a page."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
from argon2 import PasswordHasher

from tests.integration.conftest import ROLES, Api
from warroom.auth import service as auth

PASSWORD = "correct horse battery"
REFUSED_COOKIE = "warroom_refused"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Browser:
    client: httpx.AsyncClient
    email: str

    async def csrf(self, path: str = "/") -> str:
        page = await self.client.get(path)
        found = CSRF.search(page.text)
        assert found, (path, page.status_code, page.text[:500])
        return found.group(1)

    async def post(self, path: str, data: dict[str, Any], *, token: str | None = None) -> httpx.Response:
        """A form post as the page would send it (with this session's CSRF token unless one is given)."""
        body = {"csrf_token": await self.csrf() if token is None else token, **data}
        answer = await self.client.post(path, data=body)
        if answer.status_code == 303 and REFUSED_COOKIE in answer.cookies:
            # A refused form is carried back to its page (post/redirect/get): follow, as a browser does.
            return await self.client.get(answer.headers["location"])
        return answer


@dataclass
class Web:
    api: Api
    browsers: dict[str, Browser] = field(default_factory=dict)

    def __getitem__(self, role: str) -> Browser:
        return self.browsers[role]

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.api.app)
        return httpx.AsyncClient(transport=transport, base_url="http://warroom.test")


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return await client.post(
        "/login", data={"csrf_token": found.group(1), "email": email, "password": password, "next": "/"}
    )


@cache
def cheap_hash() -> str:
    """PASSWORD as an argon2 hash with the cheapest parameters: verifying reads them from the hash, so sign-in
    stays the real code path while a test signs in four people in milliseconds instead of seconds."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


async def give_passwords(api: Api) -> None:
    async with api.context.db.write() as session:
        for role in ROLES:
            user = await auth.resolve_user(session=session, ref=api.emails[role])
            user.password_hash = cheap_hash()
        await session.commit()


@asynccontextmanager
async def open_web(api: Api) -> AsyncIterator[Web]:
    """A signed-in browser per role (`web["viewer"]`), all on the `api` fixture's app."""
    await give_passwords(api)
    found = Web(api=api)
    try:
        for role in ROLES:
            client = found.client()
            found.browsers[role] = Browser(client, api.emails[role])
            signed = await sign_in(client, api.emails[role], PASSWORD)
            assert signed.status_code == 303, signed.text
        yield found
    finally:
        for browser in found.browsers.values():
            await browser.client.aclose()


def text_of(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def field_error(page: str, field_id: str) -> str | None:
    """The error message rendered under the control with this id, if any."""
    found = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None


def field_value(page: str, field_id: str) -> str | None:
    found = re.search(
        rf'<(?:input|textarea)[^>]*id="{re.escape(field_id)}"[^>]*?(?:value="([^"]*)"|>([^<]*))', page
    )
    if not found:
        return None
    return html.unescape(found.group(1) if found.group(1) is not None else found.group(2))
