"""The admin pages (users and teams) on both databases: they render for admins, good forms go through, a
refused form keeps what was typed, an admin cannot lock themselves out, and everyone else gets 403."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.conftest import Api
from tests.integration.web_helpers import Web, field_error, field_value, open_web, sign_in, text_of

NEW_USER = {"email": "nina@test.warroom", "name": "Nina New", "role": "viewer", "password": "a long first pw"}


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Web]:
    async with open_web(api) as found:
        yield found


async def user_id(api: Api, email: str) -> int:
    users = (await api.admin.get("/api/v1/users")).json()
    return int(next(u["id"] for u in users if u["email"] == email))


async def test_admin_lists_adds_and_manages_users(web: Web) -> None:
    admin = web["admin"]
    page = await admin.client.get("/admin/users")
    assert page.status_code == 200 and 'href="/admin/users" aria-current="page"' in page.text
    assert "responder@test.warroom" in text_of(page.text)
    done = await admin.post("/admin/users", NEW_USER)
    assert done.status_code == 303, done.text
    shown = text_of((await admin.client.get("/admin/users")).text)
    assert "Nina New nina@test.warroom viewer active" in shown and "User nina@test.warroom added" in shown
    async with web.client() as nina:  # the initial password works
        assert (await sign_in(nina, NEW_USER["email"], NEW_USER["password"])).status_code == 303

    again = await admin.post("/admin/users", {**NEW_USER, "name": "Typed again"})
    assert again.status_code == 409
    assert field_error(again.text, "new-email") == "is already used by another user"
    assert field_value(again.text, "new-name") == "Typed again"
    assert field_value(again.text, "new-email") == NEW_USER["email"]
    short = await admin.post("/admin/users", {**NEW_USER, "email": "other@test.warroom", "password": "short"})
    assert short.status_code == 422 and "at least 10" in (field_error(short.text, "new-password") or "")
    assert field_value(short.text, "new-password") == ""  # a password is never sent back

    nina_id = await user_id(web.api, NEW_USER["email"])
    assert (await admin.post(f"/admin/users/{nina_id}/role", {"role": "responder"})).status_code == 303
    bad_role = await admin.post(f"/admin/users/{nina_id}/role", {"role": "boss"})
    assert bad_role.status_code == 422
    assert "unknown role" in (field_error(bad_role.text, f"user-{nina_id}-role") or "")
    assert (await admin.post(f"/admin/users/{nina_id}/deactivate", {})).status_code == 303
    users = {u["email"]: u for u in (await web.api.admin.get("/api/v1/users")).json()}
    assert users[NEW_USER["email"]]["role"] == "responder" and not users[NEW_USER["email"]]["is_active"]
    async with web.client() as nina:
        assert (await sign_in(nina, NEW_USER["email"], NEW_USER["password"])).status_code != 303
    assert (await admin.post(f"/admin/users/{nina_id}/reactivate", {})).status_code == 303
    assert "nina@test.warroom responder active" in text_of((await admin.client.get("/admin/users")).text)


async def test_an_admin_cannot_deactivate_or_demote_themselves(web: Web) -> None:
    admin = web["admin"]
    me = await user_id(web.api, "admin@test.warroom")
    refused = await admin.post(f"/admin/users/{me}/deactivate", {})
    assert refused.status_code == 409 and "cannot deactivate your own account" in text_of(refused.text)
    demoted = await admin.post(f"/admin/users/{me}/role", {"role": "viewer"})
    assert demoted.status_code == 409
    assert "cannot take away your own admin role" in (field_error(demoted.text, f"user-{me}-role") or "")
    mine = {u["email"]: u for u in (await web.api.admin.get("/api/v1/users")).json()}["admin@test.warroom"]
    assert mine["role"] == "admin" and mine["is_active"]
    assert (await admin.client.get("/admin/users")).status_code == 200  # still signed in, still admin


async def test_admin_adds_teams_and_members(web: Web) -> None:
    admin = web["admin"]
    done = await admin.post("/admin/teams", {"slug": "payments", "name": "Payments"})
    assert done.status_code == 303, done.text
    twice = await admin.post("/admin/teams", {"slug": "payments", "name": "Second payments"})
    assert twice.status_code == 409
    assert field_error(twice.text, "new-slug") == "is already used by another team"
    assert field_value(twice.text, "new-name") == "Second payments"
    bad = await admin.post("/admin/teams", {"slug": "Not a slug", "name": ""})
    assert bad.status_code == 422 and field_error(bad.text, "new-name") == "is required"
    assert field_error(bad.text, "new-slug") and field_value(bad.text, "new-slug") == "Not a slug"

    add = await admin.post("/admin/teams/payments/members", {"user": "responder@test.warroom"})
    assert add.status_code == 303
    nobody = await admin.post("/admin/teams/payments/members", {"user": ""})
    assert nobody.status_code == 422 and field_error(nobody.text, "add-payments-user") == "choose a person"
    teams = (await web.api.admin.get("/api/v1/teams")).json()
    assert teams[0]["members"] == ["responder@test.warroom"]
    page = await admin.client.get("/admin/teams")
    assert "Payments payments 1 member Responder" in text_of(page.text)
    responder = await user_id(web.api, "responder@test.warroom")
    removed = await admin.post(f"/admin/teams/payments/members/{responder}/remove", {})
    assert removed.status_code == 303
    assert (await web.api.admin.get("/api/v1/teams")).json()[0]["members"] == []


async def test_only_admins_see_the_admin_pages_and_link(web: Web) -> None:
    assert 'href="/admin/users"' in (await web["admin"].client.get("/")).text
    for role in ("responder", "viewer", "stakeholder"):
        assert 'href="/admin/users"' not in (await web[role].client.get("/")).text
        for path in ("/admin/users", "/admin/teams"):
            assert (await web[role].client.get(path)).status_code == 403, (role, path)
        refused = await web[role].post("/admin/users", {**NEW_USER, "email": f"{role}-x@test.warroom"})
        assert refused.status_code == 403
        assert (await web[role].post("/admin/teams", {"slug": "x", "name": "X"})).status_code == 403
    emails = [u["email"] for u in (await web.api.admin.get("/api/v1/users")).json()]
    assert not any(e.endswith("-x@test.warroom") for e in emails)
    assert (await web.api.admin.get("/api/v1/teams")).json() == []
