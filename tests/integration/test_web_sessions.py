"""Web sessions live in the database: signing out, a password change and "sign out everywhere" end them at
once, they lapse when idle and at their absolute limit (the app's clock moves, nobody sleeps), and API
tokens are not touched by any of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from tests.integration.conftest import Api
from tests.integration.web_helpers import CSRF, PASSWORD, give_passwords, sign_in, text_of
from warroom.auth.models import SignInFailures, WebSessionRecord
from warroom.web.sessions import COOKIE
from warroom.wiring import SignInHousekeeping

IDLE = timedelta(hours=12)  # the defaults: WARROOM_SESSION_IDLE_MINUTES=720, WARROOM_SESSION_MAX_HOURS=168
ABSOLUTE = timedelta(days=7)


@asynccontextmanager
async def browser(api: Api, role: str = "responder") -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as `role` through the real sign-in form."""
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://warroom.test") as client:
        signed = await sign_in(client, api.emails[role], PASSWORD)
        assert signed.status_code == 303, signed.text
        yield client


async def signed_in(client: httpx.AsyncClient) -> bool:
    page = await client.get("/account")
    if page.status_code == 303:
        assert page.headers["location"].startswith("/login?next=")
        return False
    assert page.status_code == 200, page.text[:300]
    return True


async def csrf(client: httpx.AsyncClient, path: str = "/account") -> str:
    found = CSRF.search((await client.get(path)).text)
    assert found
    return found.group(1)


def with_cookie(api: Api, value: str) -> httpx.AsyncClient:
    """Another browser holding a copy of someone's session cookie."""
    transport = httpx.ASGITransport(app=api.app)
    return httpx.AsyncClient(transport=transport, base_url="http://warroom.test", cookies={COOKIE: value})


async def test_a_signed_out_cookie_no_longer_signs_anyone_in(api: Api) -> None:
    await give_passwords(api)
    async with browser(api) as client:
        copied = client.cookies[COOKIE]
        assert len(copied) < 60  # only the id: no user, no signature, no timestamp
        out = await client.post("/logout", data={"csrf_token": await csrf(client)})
        assert out.status_code == 303 and client.cookies[COOKIE] != copied
        assert not await signed_in(client)
        async with with_cookie(api, copied) as thief:
            assert not await signed_in(thief)  # the old cookie replayed: the session is revoked


async def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(api: Api) -> None:
    await give_passwords(api)
    async with browser(api) as here, browser(api) as elsewhere:
        page = (await here.get("/account")).text
        assert text_of(page).count("python-httpx") == 2  # both browsers listed under "Signed-in sessions"
        form = {
            "csrf_token": await csrf(here),
            "current_password": PASSWORD,
            "password": "a brand new passphrase",
            "password_confirm": "a brand new passphrase",
        }
        changed = await here.post("/account/password", data=form)
        assert changed.status_code == 303, changed.text
        assert await signed_in(here)
        assert not await signed_in(elsewhere)
        assert text_of((await here.get("/account")).text).count("python-httpx") == 1
        assert (await api.responder.get("/api/v1/me")).status_code == 200  # tokens are not sessions


async def test_sign_out_everywhere_from_my_account(api: Api) -> None:
    await give_passwords(api)
    async with browser(api) as here, browser(api) as elsewhere, browser(api, "viewer") as someone_else:
        done = await here.post("/account/sessions/revoke", data={"csrf_token": await csrf(here)})
        assert done.status_code == 303 and done.headers["location"] == "/login"
        assert not await signed_in(here) and not await signed_in(elsewhere)
        assert await signed_in(someone_else)
        assert (await api.responder.get("/api/v1/me")).status_code == 200


async def test_an_admin_signs_a_user_out_everywhere_by_api_and_on_the_users_page(api: Api) -> None:
    await give_passwords(api)
    async with browser(api) as one, browser(api) as two, browser(api, "admin") as admin:
        user_id = (await api.responder.get("/api/v1/me")).json()["id"]
        assert (await api.viewer.post(f"/api/v1/users/{user_id}/sessions/revoke")).status_code == 403
        assert await signed_in(one)
        revoked = await api.admin.post(f"/api/v1/users/{user_id}/sessions/revoke")
        assert revoked.status_code == 200 and revoked.json() == {"revoked": 2}
        assert not await signed_in(one) and not await signed_in(two)
        missing = await api.admin.post("/api/v1/users/999/sessions/revoke")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"

        assert (await sign_in(one, api.emails["responder"], PASSWORD)).status_code == 303
        token = await csrf(admin, "/admin/users")
        done = await admin.post(f"/admin/users/{user_id}/sessions/revoke", data={"csrf_token": token})
        assert done.status_code == 303, done.text
        assert "signed out everywhere (1 session(s) ended)" in text_of((await admin.get("/admin/users")).text)
        assert not await signed_in(one) and await signed_in(admin)

        mine = await api.responder.post("/api/v1/me/sessions/revoke")
        assert mine.status_code == 200 and mine.json() == {"revoked": 0}


async def test_a_session_lapses_after_the_idle_limit_and_lives_while_used(api: Api) -> None:
    await give_passwords(api)
    async with browser(api) as used, browser(api) as idle:
        api.clock.advance(IDLE - timedelta(minutes=5))
        assert await signed_in(used)  # a page load counts as use
        api.clock.advance(timedelta(minutes=10))
        assert await signed_in(used)
        assert not await signed_in(idle)
        assert (await idle.get("/login")).status_code == 200  # and can sign in again
        assert (await sign_in(idle, api.emails["responder"], PASSWORD)).status_code == 303
        assert await signed_in(idle)


async def test_a_session_ends_at_the_absolute_limit_however_much_it_is_used(api: Api) -> None:
    await give_passwords(api)
    async with browser(api) as client:
        step = IDLE - timedelta(hours=1)
        used = timedelta(0)
        while used + step < ABSOLUTE:
            api.clock.advance(step)
            used += step
            assert await signed_in(client), used
        api.clock.advance(ABSOLUTE - used)
        assert not await signed_in(client)


async def test_the_worker_deletes_sessions_and_failure_counts_a_day_after_they_end(api: Api) -> None:
    await give_passwords(api)
    async with browser(api) as signed_out, browser(api) as kept:
        await signed_out.post("/logout", data={"csrf_token": await csrf(signed_out)})
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api.app), base_url="http://warroom.test"
        ) as stranger:
            assert (await sign_in(stranger, "nobody@test.warroom", "wrong password")).status_code == 401
        housekeeping = SignInHousekeeping()
        await housekeeping(api.context)
        assert await rows(api) == (2, 2)  # ended just now: kept for a day
        for _ in range(2):  # 22 hours of use
            api.clock.advance(timedelta(hours=11))
            assert await signed_in(kept)
        api.clock.advance(timedelta(hours=3))
        await housekeeping(api.context)
        assert await rows(api) == (1, 0)  # the used session stays
        assert await signed_in(kept)


async def rows(api: Api) -> tuple[int, int]:
    async with api.context.db.read() as session:
        sessions = await session.scalar(select(func.count()).select_from(WebSessionRecord))
        failures = await session.scalar(select(func.count()).select_from(SignInFailures))
    return int(sessions or 0), int(failures or 0)
