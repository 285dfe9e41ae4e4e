"""The web UI on SQLite and PostgreSQL through the ASGI app: sign-in, CSRF, refused forms that come back with
the message next to the field and the typed values kept, and the war room's write paths."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Api
from tests.integration.web_helpers import (
    PASSWORD,
    Web,
    field_error,
    field_value,
    give_passwords,
    open_web,
    sign_in,
    text_of,
)


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Web]:
    async with open_web(api) as found:
        yield found


async def incident_total(api: Api) -> int:
    return (await api.admin.get("/api/v1/incidents")).json()["total"]  # type: ignore[no-any-return]


async def declared(api: Api, **fields: Any) -> str:
    body = {"title": "Checkout down", "severity": "P1", **fields}
    response = await api.responder.post("/api/v1/incidents", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["ref"])


async def timeline_kinds(api: Api, ref: str) -> list[str]:
    return [e["kind"] for e in (await api.viewer.get(f"/api/v1/incidents/{ref}/timeline")).json()]


async def test_pages_need_a_signed_in_user(api: Api) -> None:
    for path in ("/", "/declare", "/alerts", "/procedure", "/account", "/incidents/INC-1"):
        response = await api.anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    assert (await api.anonymous.get("/live/dashboard")).status_code == 401


async def test_sign_in_failure_says_so_keeps_the_email_and_signs_nobody_in(api: Api) -> None:
    await give_passwords(api)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url="http://w.test") as c:
        refused = await sign_in(c, api.emails["responder"], "not the password")
        assert refused.status_code == 401
        assert "That email and password do not match an active account." in text_of(refused.text)
        assert field_value(refused.text, "f-email") == api.emails["responder"]
        assert field_value(refused.text, "f-password") == ""  # a password is never sent back
        assert (await c.get("/")).status_code == 303

        unknown = await sign_in(c, "nobody@test.warroom", PASSWORD)
        assert unknown.status_code == 401 and "do not match" in unknown.text

        signed = await sign_in(c, api.emails["responder"], PASSWORD)
        assert signed.status_code == 303 and signed.headers["location"] == "/"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        dashboard = await c.get("/")
        assert dashboard.status_code == 200 and "Open incidents" in text_of(dashboard.text)


async def test_sign_in_sends_you_back_where_you_were_but_only_on_this_site(api: Api) -> None:
    await give_passwords(api)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url="http://w.test") as c:
        page = await c.get("/login", params={"next": "/alerts?status=triggered"})
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"csrf_token": token, "email": api.emails["viewer"], "password": PASSWORD}
        back = await c.post("/login", data={**form, "next": "/alerts?status=triggered"})
        assert back.headers["location"] == "/alerts?status=triggered"
        await c.post("/logout", data={"csrf_token": await _csrf(c)})
        token = (await c.get("/login")).text.split('name="csrf_token" value="')[1].split('"')[0]
        away = await c.post("/login", data={**form, "csrf_token": token, "next": "//evil.example/x"})
        assert away.headers["location"] == "/"


async def _csrf(client: httpx.AsyncClient) -> str:
    return (await client.get("/")).text.split('name="csrf_token" value="')[1].split('"')[0]


async def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(web: Web) -> None:
    responder = web["responder"]
    form = {"title": "forged", "severity": "P1"}
    for token in ("", "0" * 64):
        refused = await responder.post("/declare", form, token=token)
        assert refused.status_code == 403
        assert "reload the page" in text_of(refused.text)
    ref = await declared(web.api)
    before = await timeline_kinds(web.api, ref)
    forged = await responder.post(f"/incidents/{ref}/updates", {"body": "forged"}, token="nope")
    assert forged.status_code == 403
    assert await timeline_kinds(web.api, ref) == before
    assert await incident_total(web.api) == 1
    # Another session's token does not work either: it is bound to this session.
    assert (await responder.post("/declare", form, token=await web["admin"].csrf())).status_code == 403
    assert (await responder.client.post("/logout", data={})).status_code == 403
    assert (await responder.client.get("/")).status_code == 200  # still signed in


async def test_declare_refusal_marks_each_field_and_keeps_what_was_typed(web: Web) -> None:
    form = {
        "title": "",
        "summary": "payments are timing out <b>everywhere</b>",
        "customer_impact": "card checkouts fail",
        "type": "outage",
        "impact_minutes_ago": "ten",
    }
    page = await web["responder"].post("/declare", form)
    assert page.status_code == 422
    assert field_error(page.text, "f-title") == "is required"
    assert field_error(page.text, "f-severity") == "choose a severity"
    assert (
        field_error(
            page.text,
            "f-impact_minutes_ago",
        )
        == "give whole minutes, 0 to 43200"
    )
    assert field_value(page.text, "f-summary") == form["summary"]  # kept, and escaped in the HTML
    assert "&lt;b&gt;everywhere&lt;/b&gt;" in page.text
    assert field_value(page.text, "f-customer_impact") == "card checkouts fail"
    assert field_value(page.text, "f-impact_minutes_ago") == "ten"
    assert 'value="outage" checked' in page.text
    assert await incident_total(web.api) == 0


async def test_declare_a_p1_and_land_in_its_war_room(web: Web) -> None:
    await web.api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    form = {"title": "Checkout down", "severity": "P1", "type": "outage", "services": "checkout"}
    done = await web["responder"].post("/declare", {**form, "impact_minutes_ago": "5"})
    assert done.status_code == 303 and done.headers["location"] == "/incidents/INC-1"
    page = await web["responder"].client.get("/incidents/INC-1")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "INC-1" in shown and "Checkout down" in shown and "P1 Critical" in shown
    assert "INC-1 declared" in shown  # the flash message
    incident = (await web.api.viewer.get("/api/v1/incidents/INC-1")).json()
    assert incident["services"] == ["checkout"]
    assert incident["impact_started_at"] == "2026-03-02T09:55:00Z"
    assert incident["declared_by"]["email"] == web["responder"].email


async def test_war_room_changes_go_through_the_services_and_onto_the_timeline(web: Web) -> None:
    ref = await declared(web.api)
    you = web["responder"]
    commander = web.api.emails["admin"]
    steps = [
        (f"/incidents/{ref}/roles", {"action": "assign", "role": "incident_commander", "user": commander}),
        (f"/incidents/{ref}/updates", {"audience": "internal", "body": "pool exhausted"}),
        (f"/incidents/{ref}/updates", {"audience": "stakeholder", "body": "we are on it"}),
        (f"/incidents/{ref}/severity", {"severity": "P2", "severity_reason": "one region only"}),
        (f"/incidents/{ref}/phase", {"phase": "containment", "reason": "cause found"}),
        (f"/incidents/{ref}/tasks", {"title": "Roll back deploy 4812", "assignee": you.email}),
    ]
    for path, form in steps:
        response = await you.post(path, form)
        assert response.status_code == 303, (path, response.text[:2000])
        assert response.headers["location"].startswith(f"/incidents/{ref}#")
    tasks = (await web.api.viewer.get(f"/api/v1/incidents/{ref}/tasks")).json()
    added = next(t for t in tasks if t["title"] == "Roll back deploy 4812")
    assert (await you.post(f"/incidents/{ref}/tasks/{added['id']}", {"done": "1"})).status_code == 303
    kinds = await timeline_kinds(web.api, ref)
    for kind in ("role_assigned", "acknowledged", "note", "stakeholder_update", "severity_changed"):
        assert kind in kinds
    assert kinds[-3:] == ["phase_changed", "task_added", "task_done"] or "task_done" in kinds
    incident = (await web.api.viewer.get(f"/api/v1/incidents/{ref}")).json()
    assert (incident["severity"], incident["phase"]) == ("P2", "containment")
    page = text_of((await you.client.get(f"/incidents/{ref}")).text)
    assert "Incident commander assigned to Admin" in page
    assert "Phase: Triage → Containment" in page and "pool exhausted" in page


async def test_refused_war_room_forms_keep_the_text_and_name_the_field(web: Web) -> None:
    ref = await declared(web.api)
    before = await timeline_kinds(web.api, ref)
    you = web["responder"]

    severity = await you.post(f"/incidents/{ref}/severity", {"severity": "P2", "severity_reason": ""})
    assert severity.status_code == 422
    assert (
        field_error(severity.text, "severity-severity_reason")
        == "a reason is required to change the severity"
    )
    assert 'value="P2" selected' in severity.text

    role = await you.post(
        f"/incidents/{ref}/roles", {"action": "assign", "role": "incident_commander", "user": "ghost@x.y"}
    )
    assert role.status_code == 422
    assert field_error(role.text, "roles-user") == "no user with email 'ghost@x.y'"
    assert field_value(role.text, "roles-user") == "ghost@x.y"

    phase = await you.post(f"/incidents/{ref}/phase", {"phase": "eradication", "reason": "skipping ahead"})
    assert phase.status_code == 409
    assert "allowed from triage" in (field_error(phase.text, "phase-phase") or "")
    assert field_value(phase.text, "phase-reason") == "skipping ahead"

    note = await you.post(f"/incidents/{ref}/updates", {"audience": "internal", "body": "   "})
    assert note.status_code == 422 and field_error(note.text, "update-body") == "is required"
    assert await timeline_kinds(web.api, ref) == before  # nothing refused reached the timeline


async def test_links_are_added_opened_in_a_new_tab_and_removed(web: Web) -> None:
    ref = await declared(web.api)
    you = web["responder"]
    form = {"title": "Checkout dashboard", "url": "https://grafana.example.org/d/checkout?a=1&b=2"}
    added = await you.post(f"/incidents/{ref}/links", form)
    assert added.status_code == 303 and added.headers["location"] == f"/incidents/{ref}#links"
    (link,) = (await web.api.viewer.get(f"/api/v1/incidents/{ref}")).json()["links"]
    page = (await you.client.get(f"/incidents/{ref}")).text
    assert (
        '<a href="https://grafana.example.org/d/checkout?a=1&amp;b=2" target="_blank" '
        'rel="noopener noreferrer" class="row-title">Checkout dashboard</a>'
    ) in page
    assert f'action="/incidents/{ref}/links/{link["id"]}/delete"' in page
    assert "Link added: Checkout dashboard" in text_of(page)
    viewer_page = (await web["viewer"].client.get(f"/incidents/{ref}")).text
    assert "Checkout dashboard" in viewer_page and "/links" not in viewer_page.replace("#links", "")
    removed = await you.post(f"/incidents/{ref}/links/{link['id']}/delete", {})
    assert removed.status_code == 303
    assert (await web.api.viewer.get(f"/api/v1/incidents/{ref}")).json()["links"] == []
    assert (await timeline_kinds(web.api, ref))[-2:] == ["link_added", "link_removed"]
    page = text_of((await you.client.get(f"/incidents/{ref}")).text)
    assert "No links." in page and "Link removed: Checkout dashboard" in page


async def test_a_refused_link_keeps_what_was_typed_and_names_the_field(web: Web) -> None:
    ref = await declared(web.api)
    before = await timeline_kinds(web.api, ref)
    refused = await web["responder"].post(
        f"/incidents/{ref}/links", {"title": "Runbook", "url": "javascript:alert(1)"}
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "link-url") == "must be an http:// or https:// address with a host"
    assert field_value(refused.text, "link-title") == "Runbook"
    assert field_value(refused.text, "link-url") == "javascript:alert(1)"
    untitled = await web["responder"].post(f"/incidents/{ref}/links", {"title": " ", "url": "https://x.org"})
    assert untitled.status_code == 422 and field_error(untitled.text, "link-title") == "is required"
    assert field_value(untitled.text, "link-url") == "https://x.org"
    assert await timeline_kinds(web.api, ref) == before
    assert (await web.api.viewer.get(f"/api/v1/incidents/{ref}")).json()["links"] == []


async def test_a_p1_cannot_enter_containment_without_its_roles_and_says_which(web: Web) -> None:
    ref = await declared(web.api)
    refused = await web["responder"].post(f"/incidents/{ref}/phase", {"phase": "containment"})
    assert refused.status_code == 409
    assert "missing role(s)" in (field_error(refused.text, "phase-phase") or "")


async def test_timeline_text_is_escaped(web: Web) -> None:
    ref = await declared(web.api, title="<img src=x onerror=alert(1)>")
    await web["responder"].post(f"/incidents/{ref}/updates", {"body": "<script>alert(1)</script>"})
    page = (await web["viewer"].client.get(f"/incidents/{ref}")).text
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_unknown_incident_is_a_404_page(web: Web) -> None:
    page = await web["viewer"].client.get("/incidents/INC-404")
    assert page.status_code == 404 and "no incident INC-404" in text_of(page.text)
    assert page.headers["content-type"].startswith("text/html")


async def test_password_change_checks_the_old_one_and_signs_out_other_sessions(web: Web) -> None:
    you = web["responder"]
    other = web.client()
    await sign_in(other, you.email, PASSWORD)
    assert (await other.get("/")).status_code == 200

    wrong = await you.post(
        "/account/password", {"current_password": "nope", "password": "x" * 12, "password_confirm": "x" * 12}
    )
    assert (
        wrong.status_code == 422
        and field_error(wrong.text, "pw-current_password") == "is not your current password"
    )
    short = await you.post(
        "/account/password", {"current_password": PASSWORD, "password": "short", "password_confirm": "short"}
    )
    assert (
        short.status_code == 422
        and field_error(short.text, "pw-password") == "must be at least 10 characters"
    )

    new = "a much longer passphrase"
    done = await you.post(
        "/account/password", {"current_password": PASSWORD, "password": new, "password_confirm": new}
    )
    assert done.status_code == 303
    assert (await you.client.get("/account")).status_code == 200  # this session carries on
    assert (await other.get("/")).status_code == 303  # the other one is signed out
    await other.aclose()
    async with web.client() as fresh:
        assert (await sign_in(fresh, you.email, new)).status_code == 303


async def test_api_tokens_are_shown_once_work_and_can_be_revoked(web: Web) -> None:
    you = web["viewer"]
    missing = await you.post("/account/tokens", {"name": ""})
    assert missing.status_code == 422 and field_error(missing.text, "token-name") == "is required"
    created = await you.post("/account/tokens", {"name": "laptop"})
    assert created.status_code == 201
    secret = created.text.split('<code id="new-token">')[1].split("</code>")[0]
    api = web.client()
    me = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["email"] == you.email
    account = (await you.client.get("/account")).text
    assert secret not in account and "laptop" in account
    found = re.search(r"<td>laptop</td>.*?/account/tokens/(\d+)/revoke", account, re.DOTALL)
    assert found, account
    token_id = found.group(1)
    assert (await web["admin"].post(f"/account/tokens/{token_id}/revoke", {})).status_code == 303
    assert (await api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})).status_code == 200
    assert (await you.post(f"/account/tokens/{token_id}/revoke", {})).status_code == 303
    assert (await api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})).status_code == 401
    await api.aclose()


async def test_procedure_page_is_the_rendered_sop(web: Web) -> None:
    page = await web["stakeholder"].client.get("/procedure")
    assert page.status_code == 200
    assert "<h1>Default incident procedure</h1>" in page.text
    assert "<table>" in page.text and "<h3>P1 Critical</h3>" in page.text


async def test_dashboard_shows_open_incidents_by_severity_with_their_clocks(web: Web) -> None:
    await declared(web.api, title="Minor glitch", severity="P3")
    await declared(web.api, title="Everything is down", severity="P1")
    page = (await web["viewer"].client.get("/")).text
    assert page.index("Everything is down") < page.index("Minor glitch")
    assert 'data-deadline="2026-03-02T10:15:00Z"' in page  # P1: respond within 15 minutes
    assert "15 min left" in text_of(page)
    regions = await web["viewer"].client.get("/", params={"fragment": "1"})
    assert regions.status_code == 200 and 'id="dash-open" data-region' in regions.text
    assert "<html" not in regions.text


async def test_a_long_timeline_shows_the_newest_events_and_links_to_the_rest(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("warroom.web.incident_data.TIMELINE_SHOWN", 3)
    ref = await declared(web.api)  # "detected" and "declared"
    for n in range(3):
        await web.api.responder.post(f"/api/v1/incidents/{ref}/updates", json={"body": f"note {n}"})
    page = (await web["viewer"].client.get(f"/incidents/{ref}")).text
    assert page.count('<li class="ev ') == 3 and "note 2" in page and "Detected" not in page
    assert "Show the 2 older events" in page
    everything = (await web["viewer"].client.get(f"/incidents/{ref}", params={"timeline": "all"})).text
    assert everything.count('<li class="ev ') == 5 and "older events" not in everything


async def make_schedule(api: Api) -> None:
    layer = {
        "name": "base",
        "participants": [api.emails["responder"]],
        "start": "2026-03-02T08:00:00Z",  # 09:00 in Berlin: the responder from now on, every week
        "shift_length": 1,
        "shift_unit": "weeks",
        "time_zone": "Europe/Berlin",
    }
    body = {"slug": "primary", "name": "Primary", "time_zone": "Europe/Berlin", "layers": [layer]}
    assert (await api.admin.post("/api/v1/schedules", json=body)).status_code == 201


async def test_schedules_show_two_weeks_with_gaps_and_take_an_override(web: Web) -> None:
    await make_schedule(web.api)
    page = await web["viewer"].client.get("/schedules")
    shown = text_of(page.text)
    assert "Primary" in shown and "On call now: Responder" in shown
    assert "1 gap in two weeks" in shown  # midnight to the first handoff at 08:00 UTC, before the rotation
    assert page.text.count('class="gap"') == 1

    you = web["responder"]
    refused = await you.post(
        "/schedules/primary/overrides",
        {"user": web.api.emails["admin"], "starts_at": "2026-03-02T15:00", "ends_at": "2026-03-02T14:00"},
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "primary-ends_at") == "must be after starts_at"
    assert field_value(refused.text, "primary-starts_at") == "2026-03-02T15:00"
    missing = await you.post("/schedules/primary/overrides", {"user": "", "starts_at": "", "ends_at": "x"})
    assert field_error(missing.text, "primary-user") == "name someone (email)"
    assert field_error(missing.text, "primary-starts_at") == "is required"
    assert field_error(missing.text, "primary-ends_at") == "give a date and time"

    # 10:30 to 13:00 Berlin time is 09:30 to 12:00 UTC: the admin covers now (10:00 UTC).
    form = {"user": web.api.emails["admin"], "starts_at": "2026-03-02T10:30", "ends_at": "2026-03-02T13:00"}
    done = await you.post("/schedules/primary/overrides", form)
    assert done.status_code == 303 and done.headers["location"] == "/schedules#schedule-primary"
    after = text_of((await you.client.get("/schedules")).text)
    assert "On call now: Admin until" in after and "(override)" in after
    final = (await web.api.viewer.get("/api/v1/schedules/primary/final", params={"days": 1})).json()
    assert {"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T12:00:00Z"}.items() <= final[0].items()
    assert final[0]["source"] == "override"


async def test_roles_are_given_by_name_as_the_picker_offers_them(api: Api) -> None:
    """The people picker offers names: a name that is one person's assigns them; two people of one name,
    or nobody of it, are refused by the field, in words."""
    ref = (await api.responder.post("/api/v1/incidents", json={"title": "x", "severity": "P3"})).json()["ref"]
    async with open_web(api) as web:
        admin = web["admin"]
        page = (await admin.client.get(f"/incidents/{ref}")).text
        assert "Person (name or email)" in page and '<datalist id="people">' in page
        done = await admin.post(f"/incidents/{ref}/roles", {"role": "scribe", "user": "responder"})
        assert done.status_code == 303, done.text
        held = (await api.admin.get(f"/api/v1/incidents/{ref}/roles")).json()
        assert any(
            r["role"] == "scribe" and r["user"]["email"] == api.emails["responder"] for r in held["current"]
        )
        await api.admin.post("/api/v1/users", json={"email": "twin1@x.y", "name": "Sam", "role": "responder"})
        await api.admin.post("/api/v1/users", json={"email": "twin2@x.y", "name": "sam", "role": "responder"})
        twins = await admin.post(f"/incidents/{ref}/roles", {"role": "technical_lead", "user": "Sam"})
        assert "2 people are called 'Sam': use an email" in text_of(twins.text)
        nobody = await admin.post(
            f"/incidents/{ref}/roles", {"role": "technical_lead", "user": "Nobody Here"}
        )
        assert "no one called 'Nobody Here'" in text_of(nobody.text)
