"""Sign-in throttling, counted in the database per account and per client address: after the free failures
each attempt waits twice as long, the wait is answered 429 with Retry-After (the right password included),
and the app's clock moving past it lets the right password in again."""

from __future__ import annotations

from datetime import timedelta

import httpx
from structlog.testing import capture_logs

from tests.conftest import START
from tests.integration.conftest import ROLES, Api
from tests.integration.web_helpers import PASSWORD, cheap_hash, give_passwords, sign_in, text_of
from warroom.auth import service as auth

WRONG = "not the password at all"


def client(api: Api, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=api.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://warroom.test")


async def test_an_account_is_throttled_after_five_failures_and_the_wait_doubles(api: Api) -> None:
    await give_passwords(api)
    email = api.emails["responder"]
    async with client(api) as browser:
        with capture_logs() as logs:
            for _ in range(5):
                assert (await sign_in(browser, email, WRONG)).status_code == 401
            refused = await sign_in(browser, email, PASSWORD)  # the right one, but too soon
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert "Too many failed sign-ins. Try again in 1 second." in text_of(refused.text)
        assert (await browser.get("/account")).status_code == 303  # not signed in
        failed = [e for e in logs if e["event"] == "sign_in.failed"]
        assert len(failed) == 5 and {e["email"] for e in failed} == {email}
        assert [e["retry_after"] for e in logs if e["event"] == "sign_in.refused"] == [1]

        api.clock.advance(timedelta(seconds=1))
        assert (await sign_in(browser, email, WRONG)).status_code == 401  # the sixth failure
        again = await sign_in(browser, email, PASSWORD)
        assert again.status_code == 429 and again.headers["retry-after"] == "2"
        api.clock.advance(timedelta(seconds=2))
        assert (await sign_in(browser, email, PASSWORD)).status_code == 303
        assert (await browser.get("/account")).status_code == 200

    async with client(api, "192.0.2.7") as elsewhere:  # success cleared the account's count
        for _ in range(5):
            assert (await sign_in(elsewhere, email, WRONG)).status_code == 401
        assert (await sign_in(elsewhere, email, WRONG)).status_code == 429


async def test_the_account_count_holds_from_every_address(api: Api) -> None:
    await give_passwords(api)
    email = api.emails["viewer"]
    for number in range(5):
        async with client(api, f"198.51.100.{number + 1}") as browser:
            assert (await sign_in(browser, email, WRONG)).status_code == 401
    async with client(api, "198.51.100.99") as browser:
        refused = await sign_in(browser, email, PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    async with client(api, "198.51.100.99") as browser:  # other accounts from there are not affected
        assert (await sign_in(browser, api.emails["admin"], PASSWORD)).status_code == 303


async def test_an_address_is_throttled_after_failures_across_accounts(api: Api) -> None:
    await give_passwords(api)
    async with api.context.db.write() as session:
        fifth = await auth.create_user(
            session=session, email="fifth@test.warroom", name="Fifth", role="viewer", now=START
        )
        fifth.password_hash = cheap_hash()
        await session.commit()
    async with client(api, "203.0.113.5") as spray:
        for _ in range(5):  # 20 failures from one address, 5 on each of four accounts
            for role in ROLES:
                assert (await sign_in(spray, api.emails[role], WRONG)).status_code == 401
        refused = await sign_in(spray, "fifth@test.warroom", PASSWORD)  # an account with no failures
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    async with client(api, "203.0.113.6") as neighbour:
        assert (await sign_in(neighbour, "fifth@test.warroom", PASSWORD)).status_code == 303
