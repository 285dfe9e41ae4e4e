"""Single sign-on through a real OpenID provider on loopback (tests/fakes/oidc_provider.py, Authlib's server
side), on both databases: the code flow with PKCE signs people in just in time with the role and teams
their groups give; a wrong audience, an expired token, a replayed nonce or state, and a sign-in started in
another browser are refused; someone removed from every mapped group is let go at their next sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, Person, Provider, running_provider
from tests.integration.conftest import Api
from tests.integration.web_helpers import PASSWORD, give_passwords, sign_in, text_of
from warroom.auth import service as auth
from warroom.auth.models import ApiToken, User

BASE = "http://warroom.test"
ALICE = Person("alice-1", "alice@example.org", "Alice Example", ["sre", "everyone"])
BOB = Person("bob-2", "bob@example.org", "Bob Example", ["everyone"])


@pytest.fixture
def idp() -> Iterator[Provider]:
    with running_provider([f"{BASE}/auth/sso/oidc/callback"]) as provider:
        provider.add(ALICE)
        provider.add(BOB)
        yield provider


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def configure(api: Api, idp: Provider) -> None:
    settings = api.context.settings
    settings.base_url = BASE
    settings.oidc_issuer, settings.oidc_client_id = idp.url, CLIENT_ID
    settings.oidc_client_secret, settings.oidc_name = SecretStr(CLIENT_SECRET), "Example ID"
    idp.clock = lambda: api.clock.now().timestamp()
    await ok(await api.admin.post("/api/v1/teams", json={"slug": "payments", "name": "Payments"}), 201)
    rule = {"group": "sre", "role": "responder", "team": "payments"}
    await ok(await api.admin.post("/api/v1/sso/rules", json=rule), 201)
    await ok(await api.admin.post("/api/v1/sso/rules", json={"group": "ops-admins", "role": "admin"}), 201)


def browser(api: Api) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url=BASE)


async def through_provider(client: httpx.AsyncClient, idp: Provider, who: Person) -> httpx.Response:
    """Start at warroom, visit the provider as `who`, and bring its answer back to warroom."""
    idp.signed_in_as = who.sub
    started = await client.get("/auth/sso/oidc", params={"next": "/incidents"})
    assert started.status_code == 303, started.text
    async with httpx.AsyncClient() as outside:
        answer = await outside.get(started.headers["location"])
    assert answer.status_code == 302, answer.text
    return await client.get(answer.headers["location"].removeprefix(BASE))


async def user(api: Api, email: str) -> User | None:
    async with api.context.db.read() as session:
        return await session.scalar(select(User).where(User.email == email))


async def test_first_sign_in_creates_the_account_with_its_groups_role_and_team(
    api: Api, idp: Provider
) -> None:
    await configure(api, idp)
    async with browser(api) as client:
        login = await client.get("/login")
        assert "Sign in with Example ID" in text_of(login.text)
        signed = await through_provider(client, idp, ALICE)
        assert (signed.status_code, signed.headers["location"]) == (303, "/incidents")
        assert "alice@example.org" in (await client.get("/incidents")).text
    alice = await user(api, ALICE.email)
    assert alice is not None and (alice.role, alice.name, alice.sso_subject) == (
        "responder",
        ALICE.name,
        "alice-1",
    )
    teams = {t["slug"]: t["members"] for t in await ok(await api.admin.get("/api/v1/teams"))}
    assert teams["payments"] == [ALICE.email]
    # Promoted at the provider: the next sign-in brings the higher role.
    ALICE_ADMIN = Person(ALICE.sub, ALICE.email, ALICE.name, ["sre", "ops-admins"])
    idp.add(ALICE_ADMIN)
    async with browser(api) as client:
        assert (await through_provider(client, idp, ALICE_ADMIN)).status_code == 303
    promoted = await user(api, ALICE.email)
    assert promoted is not None and promoted.role == "admin"


async def test_nobody_without_a_mapped_group_gets_in(api: Api, idp: Provider) -> None:
    await configure(api, idp)
    async with browser(api) as client:
        refused = await through_provider(client, idp, BOB)
        assert refused.status_code == 403
        assert "in no group that has access" in text_of(refused.text)
        assert (await client.get("/incidents")).status_code in (302, 303, 401)
    assert await user(api, BOB.email) is None


@pytest.mark.parametrize(
    ("misbehaviour", "reason"),
    [({"audience": "someone-else"}, "aud"), ({"expires_in": -600}, "exp"), ({"replay_nonce": True}, "nonce")],
)
async def test_a_bad_id_token_is_refused(
    api: Api, idp: Provider, misbehaviour: dict[str, Any], reason: str
) -> None:
    await configure(api, idp)
    async with browser(api) as warmup:  # a first sign-in, so there is an earlier nonce to replay
        assert (await through_provider(warmup, idp, ALICE)).status_code == 303
    for name, value in misbehaviour.items():
        setattr(idp, name, value)
    async with browser(api) as client:
        refused = await through_provider(client, idp, ALICE)
        assert refused.status_code == 403, refused.text
        page = text_of(refused.text)
        assert "the ID token was refused" in page and reason in page, page
        assert (await client.get("/incidents")).status_code != 200


async def test_a_replayed_answer_or_one_from_another_browser_is_refused(api: Api, idp: Provider) -> None:
    await configure(api, idp)
    idp.signed_in_as = ALICE.sub
    async with browser(api) as client, httpx.AsyncClient() as outside:
        started = await client.get("/auth/sso/oidc")
        answer = (await outside.get(started.headers["location"])).headers["location"].removeprefix(BASE)
        async with browser(api) as stranger:  # the victim's browser never started this sign-in
            planted = await stranger.get(answer)
            assert planted.status_code == 400 and "not started in this browser" in text_of(planted.text)
        assert (await client.get(answer)).status_code == 303
        state = client.cookies.get("warroom_sso_state")
        assert state is None  # spent and cleared
        client.cookies.set("warroom_sso_state", answer.split("state=")[1].split("&")[0])
        replayed = await client.get(answer)
        assert replayed.status_code == 403 and "used already" in text_of(replayed.text)


async def test_removed_from_every_mapped_group_is_let_go_at_next_sign_in(api: Api, idp: Provider) -> None:
    await configure(api, idp)
    async with browser(api) as first:
        assert (await through_provider(first, idp, ALICE)).status_code == 303
        alice = await user(api, ALICE.email)
        assert alice is not None
        async with api.context.db.write() as session:
            issued = await auth.create_token(session=session, user=alice, name="cli", now=api.clock.now())
            await session.commit()
        token = {"Authorization": f"Bearer {issued.secret}"}
        assert (await first.get("/api/v1/me", headers=token)).status_code == 200
        idp.add(Person(ALICE.sub, ALICE.email, ALICE.name, ["everyone"]))  # left the SRE group
        async with browser(api) as second:
            refused = await through_provider(second, idp, ALICE)
            assert refused.status_code == 403
        assert (await first.get("/api/v1/me", headers=token)).status_code == 401
        assert (await first.get("/incidents")).status_code != 200  # the open session ended too
    gone = await user(api, ALICE.email)
    assert gone is not None and gone.is_active is False
    async with api.context.db.read() as session:
        assert (
            await session.scalar(select(ApiToken).where(ApiToken.user_id == gone.id))
        ).revoked_at is not None


async def test_passwords_off_for_all_but_break_glass(api: Api, idp: Provider) -> None:
    await configure(api, idp)
    await give_passwords(api)
    async with api.context.db.write() as session:
        admin = await auth.resolve_user(session=session, ref=api.emails["admin"])
        admin.break_glass = True
        await session.commit()
    api.context.settings.local_passwords = "break_glass_only"
    async with browser(api) as client:
        login = text_of((await client.get("/login")).text)
        assert "Sign in with Example ID" in login and "Local account (break-glass admins only)" in login
        refused = await sign_in(client, api.emails["responder"], PASSWORD)
        assert refused.status_code == 403 and "Passwords are switched off" in text_of(refused.text)
    async with browser(api) as client:
        assert (await sign_in(client, api.emails["admin"], PASSWORD)).status_code == 303


async def test_rules_and_providers_are_for_admins(api: Api, idp: Provider) -> None:
    await configure(api, idp)
    listed = await ok(await api.admin.get("/api/v1/sso/providers"))
    assert [(p["slug"], p["source"]) for p in listed] == [("oidc", "environment")]
    assert "secret" not in str(listed)
    added = {"slug": "corp", "name": "Corp", "issuer": "https://login.example.org", "client_id": "x",
             "client_secret": "y"}  # fmt: skip
    await ok(await api.admin.post("/api/v1/sso/providers", json=added), 201)
    assert (await api.admin.post("/api/v1/sso/providers", json=added)).status_code == 409
    unknown_team = {"group": "g", "role": "viewer", "team": "nope"}
    assert (await api.admin.post("/api/v1/sso/rules", json=unknown_team)).status_code == 422
    for who in (api.responder, api.viewer, api.stakeholder):
        assert (await who.get("/api/v1/sso/rules")).status_code == 403
        assert (await who.post("/api/v1/sso/providers", json=added)).status_code == 403


async def device_code(api: Api) -> dict[str, Any]:
    started: dict[str, Any] = await ok(await api.anonymous.post("/auth/sso/oidc/device"))
    assert started["verification_uri"].endswith("/device") and started["user_code"]
    return started


async def poll(api: Api, started: dict[str, Any]) -> httpx.Response:
    return await api.anonymous.post(
        "/auth/sso/oidc/device/token", json={"device_code": started["device_code"]}
    )


async def test_the_cli_device_flow_gives_a_token_to_whoever_approved(api: Api, idp: Provider) -> None:
    await configure(api, idp)
    started = await device_code(api)
    pending = await poll(api, started)
    assert pending.status_code == 202 and pending.json()["state"] == "pending"
    idp.approve(started["user_code"], ALICE.sub)
    done = await ok(await poll(api, started))
    assert (done["state"], done["email"], done["role"]) == ("signed_in", ALICE.email, "responder")
    me = await api.anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {done['token']}"})
    assert me.status_code == 200 and me.json()["email"] == ALICE.email

    denied = await device_code(api)
    idp.approve(denied["user_code"], ALICE.sub, approved=False)
    assert (await poll(api, denied)).status_code == 403
    outsider = await device_code(api)
    idp.approve(outsider["user_code"], BOB.sub)
    refused = await poll(api, outsider)
    assert refused.status_code == 403 and "no group that has access" in refused.json()["detail"]
    assert await user(api, BOB.email) is None


async def test_admins_map_groups_on_the_admin_page(api: Api) -> None:
    from tests.integration.web_helpers import open_web

    await ok(await api.admin.post("/api/v1/teams", json={"slug": "payments", "name": "Payments"}), 201)
    async with open_web(api) as web:
        added = await web["admin"].post(
            "/admin/sso/rules", {"group": "sre", "role": "responder", "team": "payments"}
        )
        assert added.status_code == 303, added.text
        page = text_of((await web["admin"].client.get("/admin/sso")).text)
        assert "sre → responder · team payments" in page and "Local passwords: on for everyone" in page
        bad = await web["admin"].post("/admin/sso/rules", {"group": "", "role": "king"})
        assert bad.status_code == 422 and "is required" in text_of(bad.text)
        twice = await web["admin"].post(
            "/admin/sso/rules", {"group": "sre", "role": "responder", "team": "payments"}
        )
        assert twice.status_code == 409 and "exists already" in text_of(twice.text)
        (rule,) = await ok(await api.admin.get("/api/v1/sso/rules"))
        removed = await web["admin"].post(f"/admin/sso/rules/{rule['id']}/remove", {})
        assert removed.status_code == 303
        assert await ok(await api.admin.get("/api/v1/sso/rules")) == []
        assert (await web["responder"].client.get("/admin/sso")).status_code == 403
