"""A severity's required roles must be filled before the incident resolves (issue #14, item 3): resolving
without them is a 409 naming the missing roles, unless the incident commander waives them with a reason,
which lands on the timeline as its own kind and in the review draft. Both databases, through the API."""

from __future__ import annotations

from tests.fakes.slack import FakeSlack
from tests.integration.chat_helpers import declare, fake_slack, slack, slash
from tests.integration.conftest import Api
from tests.integration.web_helpers import open_web, text_of

__all__ = ["fake_slack", "slack"]  # fixtures


async def _declare_p1(api: Api) -> str:
    body = {"title": "Checkout down", "severity": "P1", "type": "outage"}
    declared = await api.responder.post("/api/v1/incidents", json=body)
    assert declared.status_code == 201, declared.text
    return str(declared.json()["ref"])


async def _assign(api: Api, ref: str, role: str, who: str) -> None:
    assigned = await api.responder.post(
        f"/api/v1/incidents/{ref}/roles", json={"role": role, "user": api.emails[who]}
    )
    assert assigned.status_code == 200, assigned.text


async def test_resolving_without_the_required_roles_is_refused_naming_them(api: Api) -> None:
    ref = await _declare_p1(api)
    refused = await api.responder.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "fixed"})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["missing_roles"] == ["incident_commander", "communications_lead", "technical_lead"]
    await _assign(api, ref, "incident_commander", "responder")
    moved = await api.responder.post(f"/api/v1/incidents/{ref}/phase", json={"phase": "review"})
    assert moved.status_code == 409, moved.text  # the phase route is no way around it
    assert moved.json()["missing_roles"] == ["communications_lead", "technical_lead"]
    incident = (await api.responder.get(f"/api/v1/incidents/{ref}")).json()
    assert (incident["status"], incident["phase"], incident["resolved_at"]) == ("active", "triage", None)


async def test_the_commander_waives_roles_with_a_reason_and_then_it_resolves(api: Api) -> None:
    ref = await _declare_p1(api)
    await _assign(api, ref, "incident_commander", "responder")
    await _assign(api, ref, "technical_lead", "admin")
    waiver = {"roles": ["communications_lead"], "reason": "internal tool, nobody outside to tell"}
    by_other = await api.admin.post(f"/api/v1/incidents/{ref}/roles/waive", json=waiver)
    assert by_other.status_code == 409, by_other.text  # only the commander waives
    no_reason = await api.responder.post(
        f"/api/v1/incidents/{ref}/roles/waive", json={"roles": ["communications_lead"], "reason": " "}
    )
    assert no_reason.status_code == 422, no_reason.text
    not_required = await api.responder.post(
        f"/api/v1/incidents/{ref}/roles/waive", json={"roles": ["scribe"], "reason": "no need"}
    )
    assert not_required.status_code == 422, not_required.text
    waived = await api.responder.post(f"/api/v1/incidents/{ref}/roles/waive", json=waiver)
    assert waived.status_code == 200, waived.text
    assert (waived.json()["missing"], waived.json()["waived"]) == ([], ["communications_lead"])
    resolved = await api.responder.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "fixed"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    timeline = (await api.responder.get(f"/api/v1/incidents/{ref}/timeline")).json()
    (event,) = [e for e in timeline if e["kind"] == "roles_waived"]
    assert (event["actor"], event["data"]) == (api.emails["responder"], waiver)
    lines = (await api.responder.get(f"/api/v1/incidents/{ref}/review/timeline")).json()
    assert any(
        line["summary"] == f"Waived required role(s): Communications lead. Reason: {waiver['reason']}"
        for line in lines
    ), lines


async def test_a_waiver_for_an_unknown_incident_or_role_changes_nothing(api: Api) -> None:
    missing = await api.responder.post(
        "/api/v1/incidents/INC-999/roles/waive", json={"roles": ["scribe"], "reason": "x"}
    )
    assert missing.status_code == 404
    ref = await _declare_p1(api)
    await _assign(api, ref, "incident_commander", "responder")
    unknown = await api.responder.post(
        f"/api/v1/incidents/{ref}/roles/waive", json={"roles": ["chef"], "reason": "x"}
    )
    assert unknown.status_code == 422, unknown.text
    roles = (await api.responder.get(f"/api/v1/incidents/{ref}/roles")).json()
    assert (roles["waived"], roles["missing"]) == ([], ["communications_lead", "technical_lead"])


async def test_the_web_page_refuses_resolving_then_the_commander_waives_on_it(api: Api) -> None:
    ref = await _declare_p1(api)
    await _assign(api, ref, "incident_commander", "responder")
    await _assign(api, ref, "technical_lead", "admin")
    async with open_web(api) as web:
        browser = web["responder"]
        refused = await browser.post(f"/incidents/{ref}/phase", {"phase": "review", "reason": "fixed"})
        assert refused.status_code == 409, refused.text[:300]
        assert "missing role(s): Communications lead; assign them, or the commander" in text_of(refused.text)
        page = text_of((await browser.client.get(f"/incidents/{ref}")).text)
        assert "Communications lead · required missing" in page and "Waive a required role" in page
        form = {"role": "communications_lead", "reason": "internal only"}
        waived = await browser.post(f"/incidents/{ref}/roles/waive", form)
        assert waived.status_code == 303, waived.text[:300]
        page = text_of((await browser.client.get(f"/incidents/{ref}")).text)
        assert "Communications lead · required waived" in page and "Waive a required role" not in page
        assert "Waived required role(s): Communications lead. Reason: internal only" in page
        moved = await browser.post(f"/incidents/{ref}/phase", {"phase": "review", "reason": "fixed"})
        assert moved.status_code == 303, moved.text[:300]
    assert (await api.responder.get(f"/api/v1/incidents/{ref}")).json()["status"] == "resolved"


async def test_resolving_from_chat_without_the_roles_is_refused_with_them_named(
    api: Api, slack: FakeSlack
) -> None:
    ref = await declare(api, "P3")  # a P3 requires an incident commander
    refused = await slash(api, slack, api.emails["responder"], f"resolve {ref} fixed")
    assert refused["response_type"] == "ephemeral"
    assert "needs Incident commander before it is resolved" in refused["text"], refused
    assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["status"] == "active"
    await slash(api, slack, api.emails["responder"], f"role {ref} commander me")
    resolved = await slash(api, slack, api.emails["responder"], f"resolve {ref} fixed")
    assert resolved["text"].endswith(f"resolved {ref} (now Review).")
