"""The incidents list and the catalog pages (services, integrations and routing, escalation policies) on both
databases: they render, a good form goes through, a refused one keeps what was typed, read-only roles are
refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tests.integration.conftest import Api
from tests.integration.web_helpers import Web, field_error, field_value, open_web, text_of

POLICIES = "/api/v1/escalation-policies"


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Web]:
    async with open_web(api) as found:
        yield found


async def declare(api: Api, title: str, severity: str) -> str:
    response = await api.responder.post("/api/v1/incidents", json={"title": title, "severity": severity})
    assert response.status_code == 201, response.text
    return str(response.json()["ref"])


async def test_incidents_list_filters_by_status_and_severity_and_pages(web: Web) -> None:
    for n in range(53):
        await declare(web.api, f"Incident number {n}", "P1" if n % 2 else "P3")
    resolved = await declare(web.api, "Old database outage", "P2")
    done = await web.api.responder.patch(f"/api/v1/incidents/{resolved}", json={"status": "resolved"})
    assert done.status_code in (200, 409, 422), done.text
    viewer = web["stakeholder"].client
    first = await viewer.get("/incidents")
    assert first.status_code == 200
    shown = text_of(first.text)
    assert "54 matches" in shown and "1\u201350 of 54" in shown and "Older →" in shown
    assert 'href="/incidents" aria-current="page"' in first.text  # the top bar's link
    second = text_of((await viewer.get("/incidents", params={"offset": "50"})).text)
    assert "51\u201354 of 54" in second and "Incident number 0" in second
    p1 = text_of((await viewer.get("/incidents", params={"severity": "P1"})).text)
    assert "26 matches" in p1 and "Incident number 1 " in p1 and "Incident number 2 " not in p1
    found = text_of((await viewer.get("/incidents", params={"q": "database"})).text)
    assert "1 match" in found and "Old database outage" in found


async def test_services_page_lists_owner_and_policy_and_admins_add_and_edit(web: Web) -> None:
    admin = web["admin"]
    await web.api.admin.post("/api/v1/teams", json={"slug": "payments", "name": "Payments team"})
    form = {"slug": "checkout", "name": "Checkout", "description": "card payments", "team": "payments"}
    done = await admin.post("/services", form)
    assert done.status_code == 303, done.text
    page = text_of((await web["viewer"].client.get("/services")).text)
    assert "Checkout" in page and "Team: Payments team" in page and "no policy" in page
    assert "Add a service" not in page and "Edit Checkout" not in page

    bad = await admin.post("/services", {"slug": "Not A Slug", "name": "", "description": "kept"})
    assert bad.status_code == 422
    assert field_error(bad.text, "new-slug") and field_error(bad.text, "new-name") == "is required"
    assert (
        field_value(bad.text, "new-slug") == "Not A Slug"
        and field_value(bad.text, "new-description") == "kept"
    )

    again = await admin.post("/services", {**form, "name": "Twice"})
    assert again.status_code == 409 and field_value(again.text, "new-name") == "Twice"

    edit = await admin.post("/services/checkout", {"name": "", "description": "x", "team": "nope"})
    assert edit.status_code == 422 and field_error(edit.text, "edit-checkout-name") == "is required"
    edited = await admin.post("/services/checkout", {"name": "Checkout API", "description": "", "team": ""})
    assert edited.status_code == 303
    page = text_of((await admin.client.get("/services")).text)
    assert "Checkout API" in page and "Team: none" in page
    costly = {"name": "Checkout API", "description": "", "cost_per_minute": "lots"}
    refused = await admin.post("/services/checkout", costly)
    assert refused.status_code == 422
    assert field_error(refused.text, "edit-checkout-cost_per_minute") == "a number, such as 120 or 85.50"
    assert (await admin.post("/services/checkout", {**costly, "cost_per_minute": "85.5"})).status_code == 303
    listed = (await web.api.viewer.get("/api/v1/services/checkout")).json()
    assert listed["cost_per_minute"] == 85.5

    for role in ("responder", "viewer", "stakeholder"):
        assert (await web[role].post("/services", {"slug": "x", "name": "x"})).status_code == 403
    assert (await web["stakeholder"].client.get("/services")).status_code == 403


async def test_integrations_show_url_and_key_to_admins_rotate_and_routing_rules(web: Web) -> None:
    admin = web["admin"]
    await web.api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    refused = await admin.post("/integrations", {"kind": "pagerduty", "service": "", "name": "PD prod"})
    assert refused.status_code == 422
    assert field_error(refused.text, "integration-service") == "choose the service its alerts go to"
    assert field_value(refused.text, "integration-name") == "PD prod"
    done = await admin.post("/integrations", {"kind": "pagerduty", "service": "checkout", "name": "PD prod"})
    assert done.status_code == 303
    key = (await web.api.admin.get("/api/v1/integrations")).json()[0]["key"]
    page = await admin.client.get("/integrations")
    assert key in page.text and 'data-copy="key-1"' in page.text and "Last event: never" in text_of(page.text)
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": "s", "source": "x", "severity": "info"},
    }
    assert (await web.api.anonymous.post("/v2/enqueue", json=event)).status_code == 202
    assert "Last event: never" not in text_of((await admin.client.get("/integrations")).text)
    viewer_page = (await web["viewer"].client.get("/integrations")).text
    assert "PD prod" in viewer_page and key not in viewer_page and "Rotate key" not in viewer_page

    assert (await admin.post("/integrations/1/rotate", {})).status_code == 303
    assert (await web.api.anonymous.post("/v2/enqueue", json=event)).status_code != 202  # the old key is dead
    assert key not in (await admin.client.get("/integrations")).text

    form = {"name": "DB alerts", "cond-0-field": "source", "cond-0-op": "matches", "cond-0-value": "db-",
            "cond-1-field": "labels.env", "cond-1-op": "in", "cond-1-value": "prod, staging",
            "cond-2-field": "", "service": "checkout"}  # fmt: skip
    bad = await admin.post("/routing-rules", {**form, "cond-1-op": "matches", "cond-1-value": "prod("})
    assert bad.status_code == 422 and "regular expression" in (
        field_error(bad.text, "rule-cond-1-value") or ""
    )
    assert field_value(bad.text, "rule-name") == "DB alerts"
    ok = await admin.post("/routing-rules", form)
    assert ok.status_code == 303
    rules = (await web.api.admin.get("/api/v1/routing-rules")).json()
    assert rules[0]["conditions"] == [
        {"field": "source", "op": "matches", "value": "db-"},
        {"field": "labels.env", "op": "in", "value": ["prod", "staging"]},
    ]
    listed = text_of((await admin.client.get("/integrations")).text)
    assert "source matches db-" in listed and "labels.env in prod, staging" in listed
    assert (await web["responder"].post(f"/routing-rules/{rules[0]['id']}/delete", {})).status_code == 403
    assert (await admin.post(f"/routing-rules/{rules[0]['id']}/delete", {})).status_code == 303
    assert (await web.api.admin.get("/api/v1/routing-rules")).json() == []
    assert (await web["stakeholder"].client.get("/integrations")).status_code == 403


async def test_policies_read_by_name_and_edited_by_replacing_steps(web: Web) -> None:
    api = web.api
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    await api.admin.post("/api/v1/teams", json={"slug": "sre", "name": "SRE team"})
    step = {"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]}
    body = {"slug": "main", "name": "Main policy", "repeat": 1, "steps": [step], "services": ["checkout"]}
    assert (await api.admin.post(POLICIES, json=body)).status_code == 201
    listing = text_of((await web["viewer"].client.get("/policies")).text)
    assert (
        "Main policy" in listing
        and "at once, page user Responder" in listing
        and "Services: Checkout" in listing
    )
    viewer_detail = await web["viewer"].client.get("/policies/main")
    assert viewer_detail.status_code == 200 and "Save policy" not in viewer_detail.text

    admin = web["admin"]
    detail = await admin.client.get("/policies/main")
    responder = f"user:{api.emails['responder']}"
    assert re.search(rf'<option value="{re.escape(responder)}" selected>', detail.text)  # the step, as stored
    assert 'id="policy-step-1-targets"' in detail.text and 'id="policy-step-2-targets"' not in detail.text
    rows = {"step-0-wait": "0", "step-0-targets": [responder], "step-1-wait": "10",
            "step-1-targets": ["team:sre", "user:nobody@x.y"]}  # fmt: skip
    bad = await admin.post("/policies/main", {"name": "Main", **rows, "repeat": "1", "unack_minutes": ""})
    assert bad.status_code == 422 and "nobody@x.y" in text_of(bad.text)
    assert re.search(r'<option value="team:sre" selected>', bad.text)  # what was chosen is kept
    garbled = await admin.post("/policies/main", {"name": "Main", "step-0-wait": "soon",
                                                  "step-0-targets": "team:sre", "repeat": "x"})  # fmt: skip
    assert garbled.status_code == 422 and field_error(garbled.text, "policy-repeat")
    nobody = await admin.post("/policies/main", {"name": "Main", "step-0-wait": "5", "repeat": "0"})
    assert (
        nobody.status_code == 422
        and field_error(nobody.text, "policy-step-0-targets") == "choose who to page"
    )
    rows = {"step-0-wait": "0", "step-0-targets": responder, "step-1-wait": "10",
            "step-1-targets": "team:sre", "step-2-wait": "", "step-2-targets": []}  # fmt: skip
    done = await admin.post("/policies/main", {"name": "Main", **rows, "repeat": "0", "unack_minutes": "30"})
    assert done.status_code == 303
    page = text_of((await admin.client.get("/policies/main")).text)
    assert "after 10 min more, page team SRE team" in page and "within 30 min" in page and "no repeat" in page
    saved = (await api.admin.get(f"{POLICIES}/main")).json()
    assert [s["delay_seconds"] for s in saved["steps"]] == [0, 600] and saved["unack_timeout_seconds"] == 1800
    assert (
        await web["responder"].post("/policies/main", {"name": "x", "step-0-targets": "team:sre"})
    ).status_code == 403


async def test_a_policy_is_created_with_the_step_editor(web: Web) -> None:
    api = web.api
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    await api.admin.post("/api/v1/teams", json={"slug": "sre", "name": "SRE team"})
    admin = web["admin"]
    listing = await admin.client.get("/policies")
    assert (
        "New escalation policy" in text_of(listing.text) and 'id="new-policy-step-0-targets"' in listing.text
    )
    admin_target = f"user:{api.emails['admin']}"
    form = {"slug": "night", "name": "Night", "step-0-wait": "0", "step-0-targets": admin_target,
            "step-1-wait": "15", "step-1-targets": "team:sre", "repeat": "2",
            "services": "checkout"}  # fmt: skip
    made = await admin.post("/policies", form)
    assert made.status_code == 303 and made.headers["location"] == "/policies/night"
    saved = (await api.admin.get(f"{POLICIES}/night")).json()
    assert [s["delay_seconds"] for s in saved["steps"]] == [0, 900] and saved["repeat"] == 2
    assert saved["services"] == ["checkout"]
    again = await admin.post("/policies", form)
    assert again.status_code == 409 and "already exists" in text_of(again.text)
    assert 'value="Night"' in again.text  # the form comes back as typed
    assert (await web["responder"].post("/policies", {**form, "slug": "x"})).status_code == 403
    assert (await web["viewer"].client.get("/policies/nope")).status_code == 404


async def test_an_integration_is_edited_in_the_browser(web: Web) -> None:
    api, admin = web.api, web["admin"]
    for slug in ("checkout", "search"):
        await api.admin.post("/api/v1/services", json={"slug": slug, "name": slug.title()})
    made = await api.admin.post(
        "/api/v1/integrations", json={"kind": "grafana", "service": "checkout", "name": "G"}
    )
    integration = made.json()
    page = await admin.client.get("/integrations")
    assert f'id="edit-integration-{integration["id"]}"' in page.text
    bad = await admin.post(
        f"/integrations/{integration['id']}", {"name": "G", "service": "nope", "rate_limit_per_minute": "x"}
    )
    assert bad.status_code == 422 and field_error(
        bad.text, f"integration-{integration['id']}-rate_limit_per_minute"
    )
    form = {
        "name": "Grafana prod",
        "service": "search",
        "signing_secret": "s3cret-signing",
        "rate_limit_per_minute": "600",
    }
    assert (await admin.post(f"/integrations/{integration['id']}", form)).status_code == 303
    saved = next(
        i for i in (await api.admin.get("/api/v1/integrations")).json() if i["id"] == integration["id"]
    )
    assert (saved["name"], saved["service"], saved["signing_secret_set"]) == ("Grafana prod", "search", True)
    assert saved["key"] == integration["key"]  # editing keeps the key; rotating changes it
    cleared = {"name": "Grafana prod", "service": "search", "clear_secret": "1"}
    assert (await admin.post(f"/integrations/{integration['id']}", cleared)).status_code == 303
    again = next(
        i for i in (await api.admin.get("/api/v1/integrations")).json() if i["id"] == integration["id"]
    )
    assert again["signing_secret_set"] is False
    assert (await web["responder"].post(f"/integrations/{integration['id']}", form)).status_code == 403
