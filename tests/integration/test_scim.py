"""SCIM 2.0 provisioning on both databases: the identity provider creates a person and puts them in a group
the rules map to a role and a team; deprovisioning them (active: false, or DELETE) deactivates the account
at once, revokes its tokens and sessions, and flags their on-call places to the admins and on the
preparedness page rather than silently paging nobody. RFC compliance: tests/e2e/test_scim_compliance.py."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from tests.conftest import START
from tests.integration.conftest import Api
from tests.integration.web_helpers import open_web, text_of
from warroom.auth import service as auth
from warroom.auth.models import User
from warroom.notify.models import OutgoingMessage

TOKEN = "scim-bearer-token-for-tests"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def scim(api: Api, token: str = TOKEN) -> httpx.AsyncClient:
    api.context.settings.scim_token = SecretStr(TOKEN)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://warroom.test/scim/v2",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )  # fmt: skip


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def provision(api: Api, client: httpx.AsyncClient) -> tuple[str, User]:
    """Dana, in the `sre` group (responder, team payments), on the primary rotation and a policy step."""
    await ok(await api.admin.post("/api/v1/teams", json={"slug": "payments", "name": "Payments"}), 201)
    await ok(await api.admin.post("/api/v1/sso/rules", json={"group": "sre", "role": "responder",
                                                             "team": "payments"}), 201)  # fmt: skip
    body = {"schemas": [USER_SCHEMA], "userName": "dana", "externalId": "00u-dana", "name":
            {"givenName": "Dana", "familyName": "Scully"}, "emails": [{"value": "Dana@Example.org",
            "primary": True}], "active": True}  # fmt: skip
    made = await ok(await client.post("/Users", json=body), 201)
    group = {"schemas": [GROUP_SCHEMA], "displayName": "sre", "members": [{"value": made["id"]}]}
    await ok(await client.post("/Groups", json=group), 201)
    await ok(await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"}), 201)
    layer = {"name": "weekly", "participants": ["dana@example.org"], "start": START.isoformat(),
             "shift_length": 1, "shift_unit": "weeks", "time_zone": "UTC"}  # fmt: skip
    schedule = {"slug": "primary", "name": "Primary", "layers": [layer]}
    await ok(await api.admin.post("/api/v1/schedules", json=schedule), 201)
    steps = [{"delay_seconds": 0, "targets": [{"type": "schedule", "ref": "primary"}]},
             {"delay_seconds": 300, "targets": [{"type": "user", "ref": "dana@example.org"}]}]  # fmt: skip
    policy = {"slug": "checkout-oncall", "name": "Checkout on call", "services": ["checkout"], "steps": steps}
    await ok(await api.admin.post("/api/v1/escalation-policies", json=policy), 201)
    async with api.context.db.read() as session:
        dana = await session.scalar(select(User).where(User.email == "dana@example.org"))
    assert dana is not None
    return made["id"], dana


async def test_provisioned_with_the_role_and_team_its_group_gives(api: Api) -> None:
    async with scim(api) as client:
        scim_id, dana = await provision(api, client)
        assert (dana.role, dana.name, dana.external_id, dana.is_active) == (
            "responder", "Dana Scully", "00u-dana", True)  # fmt: skip
        teams = {t["slug"]: t["members"] for t in await ok(await api.admin.get("/api/v1/teams"))}
        assert teams["payments"] == ["dana@example.org"]
        found = await ok(await client.get("/Users", params={"filter": 'userName eq "DANA"'}))
        assert [r["id"] for r in found["Resources"]] == [scim_id]  # userName compares case-insensitively
        assert found["Resources"][0]["groups"][0]["display"] == "sre"
        listed = await client.get("/Users")
        assert listed.headers["content-type"].startswith("application/scim+json")


async def test_deprovisioning_lets_the_person_go_and_flags_their_on_call_places(api: Api) -> None:
    method = {"kind": "log", "address": "admin-log"}
    await ok(await api.admin.post("/api/v1/me/contact-methods", json=method), 201)
    async with scim(api) as client, open_web(api) as web:
        scim_id, dana = await provision(api, client)
        async with api.context.db.write() as session:
            issued = await auth.create_token(session=session, user=dana, name="cli", now=api.clock.now())
            await session.commit()
        as_dana = {"Authorization": f"Bearer {issued.secret}"}
        assert (await api.anonymous.get("/api/v1/me", headers=as_dana)).status_code == 200
        before = (await ok(await api.viewer.get("/api/v1/preparedness")))["services"]
        assert "On call now: Dana Scully" in text_of((await web["admin"].client.get("/schedules")).text)

        off = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": False}]}
        patched = await ok(await client.patch(f"/Users/{scim_id}", json=off))
        assert patched["active"] is False
        assert (await api.anonymous.get("/api/v1/me", headers=as_dana)).status_code == 401

        schedules = text_of((await web["admin"].client.get("/schedules")).text)
        assert "On call now: nobody" in schedules and "Dana Scully" not in schedules  # her shifts are gaps
        after = {s["ref"]: s for s in (await ok(await api.viewer.get("/api/v1/preparedness")))["services"]}
        on_call = {c["name"]: c for c in after["checkout"]["checks"]}["on call for the next 14 days"]
        assert on_call["ok"] is False and "deactivated" in on_call["detail"], on_call
        assert {c["name"]: c["ok"] for c in before[0]["checks"]}["on call for the next 14 days"] is True
    async with api.context.db.read() as session:
        told = (
            await session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.idempotency_key.like("leaver:%"))
            )
        ).all()
    assert len(told) == 1
    assert "schedule Primary, rotation weekly" in told[0].body
    assert "escalation policy Checkout on call, step 2" in told[0].body
    assert web  # the admin's browser stayed signed in: only Dana was let go


async def test_delete_deactivates_and_the_resource_is_gone(api: Api) -> None:
    async with scim(api) as client:
        scim_id, _dana = await provision(api, client)
        assert (await client.delete(f"/Users/{scim_id}")).status_code == 204
        gone = await client.get(f"/Users/{scim_id}")
        assert gone.status_code == 404 and gone.json()["schemas"] == [
            "urn:ietf:params:scim:api:messages:2.0:Error"
        ]
    async with api.context.db.read() as session:
        dana = await session.scalar(select(User).where(User.email == "dana@example.org"))
    assert dana is not None and dana.is_active is False  # kept for the incidents' history, let go


async def test_bad_clients_and_bad_bodies_change_nothing(api: Api) -> None:
    async with scim(api, token="wrong") as stranger:
        refused = await stranger.get("/Users")
        assert refused.status_code == 401 and refused.json()["status"] == "401"
    async with scim(api) as client:
        for body in ({"schemas": [USER_SCHEMA]}, {"schemas": [USER_SCHEMA], "userName": "x", "emails": [
                {"value": "not an email", "primary": True}]}, [1, 2]):  # fmt: skip
            bad = await client.post("/Users", json=body)
            assert bad.status_code == 400 and bad.json()["scimType"] == "invalidValue", bad.text
        assert (await ok(await client.get("/Users")))["totalResults"] == 0
        admin = {"schemas": [USER_SCHEMA], "userName": "root", "emails": [{"value": api.emails["admin"]}]}
        async with api.context.db.write() as session:
            (await auth.resolve_user(session=session, ref=api.emails["admin"])).break_glass = True
            await session.commit()
        taken = await client.post("/Users", json=admin)
        assert taken.status_code == 409 and "break-glass" in taken.json()["detail"]
    api.context.settings.scim_token = None
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://warroom.test"
    ) as c:
        assert (
            await c.get("/scim/v2/Users", headers={"Authorization": f"Bearer {TOKEN}"})
        ).status_code == 404
