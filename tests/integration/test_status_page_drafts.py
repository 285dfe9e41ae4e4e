"""`status_page: true` kept (issue #14 item 4), on both databases: declaring a P1 on a service with a
status-page component stages a draft that nobody outside sees until a person publishes it (reworded if they
like, TLP still checked); a drill, a restricted incident or a P3 stages none; raising a P3 to P2 stages one;
a P1 left with its component "operational" past its update cadence is flagged to the communications lead
once, through their contact methods."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from tests.fakes.sink import Sink
from tests.integration.conftest import Api
from tests.integration.web_helpers import open_web, text_of
from warroom.statuspage.silence import SilentStatusPage
from warroom.wiring import new_worker


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def checkout_on_the_page(api: Api) -> int:
    await ok(await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"}), 201)
    component = {"name": "Payments", "services": ["checkout"]}
    made = await ok(await api.admin.post("/api/v1/status-page/components", json=component), 201)
    return int(made["id"])


async def declare(api: Api, severity: str = "P1", **extra: Any) -> str:
    body = {"title": "Checkout is down", "severity": severity, "services": ["checkout"], **extra}
    return str((await ok(await api.responder.post("/api/v1/incidents", json=body), 201))["ref"])


async def drafts(api: Api, ref: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await ok(await api.responder.get(f"/api/v1/incidents/{ref}/status-page"))
    return found


async def public_incidents(api: Api) -> list[dict[str, Any]]:
    page = await ok(await api.anonymous.get("/status/api/v2/incidents.json"))
    return list(page["incidents"])


async def check(api: Api) -> None:
    """The worker's periodic check, run as each worker pass runs it (the wiring test names it)."""
    await SilentStatusPage().run(api.context, api.clock.now())


async def kinds(api: Api, ref: str) -> list[str]:
    return [e["kind"] for e in await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))]


async def test_a_declared_p1_stages_a_draft_that_only_a_person_publishes(api: Api) -> None:
    component = await checkout_on_the_page(api)
    ref = await declare(api)
    (draft,) = await drafts(api, ref)
    assert (draft["published"], draft["impact"], draft["incident"]) == (False, "critical", ref)
    assert [c["id"] for c in draft["components"]] == [component]
    # The customers' template, as the procedure words it: the public title and a first message.
    assert draft["name"] == "Service disruption: Checkout is down"
    assert draft["updates"][0]["body"].startswith("We are experiencing a problem: Checkout is down.")
    assert "status_page_drafted" in await kinds(api, ref)
    assert await public_incidents(api) == []
    status = await ok(await api.anonymous.get("/status/api/v2/status.json"))
    assert status["status"]["description"] == "All Systems Operational"
    assert (await api.stakeholder.get(f"/api/v1/incidents/{ref}/status-page")).status_code == 403
    edits = {"name": "Payments are failing", "body": "Card payments fail; we are on it."}
    publish = f"/api/v1/status-page/incidents/{draft['id']}/publish"
    assert (await api.viewer.post(publish, json=edits)).status_code == 403
    published = await ok(await api.responder.post(publish, json=edits))
    assert (published["published"], published["name"]) == (True, "Payments are failing")
    assert published["updates"][0]["body"] == "Card payments fail; we are on it."
    (shown,) = await public_incidents(api)
    assert shown["name"] == "Payments are failing"
    board = await ok(await api.responder.get("/api/v1/status-page/components"))
    assert {c["id"]: c["status"] for c in board}[component] == "major_outage"
    again = await api.responder.post(publish, json=edits)
    assert again.status_code == 409
    raised = await ok(
        await api.responder.patch(
            f"/api/v1/incidents/{ref}", json={"severity": "P2", "severity_reason": "wider than thought"}
        )
    )
    assert raised["severity"] == "P2" and len(await drafts(api, ref)) == 1  # one per incident


async def test_drills_restricted_and_low_severities_stage_nothing_until_raised(api: Api) -> None:
    await checkout_on_the_page(api)
    drill = await declare(api, drill=True)
    low = await declare(api, severity="P3")
    restricted = await declare(api, restricted=True)
    for ref in (drill, low, restricted):
        assert await drafts(api, ref) == [], ref
    await ok(
        await api.responder.patch(
            f"/api/v1/incidents/{low}", json={"severity": "P2", "severity_reason": "wider than thought"}
        )
    )
    (draft,) = await drafts(api, low)
    assert (draft["impact"], draft["published"]) == ("major", False)
    assert (await ok(await api.anonymous.get("/status/api/v2/incidents.json")))["incidents"] == []


async def test_a_draft_reworded_with_a_tlp_red_value_is_refused(api: Api) -> None:
    await checkout_on_the_page(api)
    ref = await declare(api)
    secret = {"type": "ip", "value": "203.0.113.9", "tlp": "red"}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/observables", json=secret), 201)
    (draft,) = await drafts(api, ref)
    publish = f"/api/v1/status-page/incidents/{draft['id']}/publish"
    refused = await api.responder.post(publish, json={"body": "Traffic from 203.0.113.9 is blocked."})
    assert refused.status_code == 422 and "TLP:RED" in refused.text
    renamed = await api.responder.patch(
        f"/api/v1/status-page/incidents/{draft['id']}", json={"name": "Blocked 203.0.113.9"}
    )
    assert renamed.status_code == 422
    assert (await drafts(api, ref))[0]["published"] is False


async def test_a_p1_with_an_operational_page_is_flagged_once_to_the_communications_lead(
    api: Api, sink: Sink
) -> None:
    await checkout_on_the_page(api)
    hook = {"kind": "webhook", "address": f"{sink.url}/lead", "label": "Hook"}
    await ok(await api.responder.post("/api/v1/me/contact-methods", json=hook), 201)
    ref = await declare(api)
    lead = {"role": "communications_lead", "user": api.emails["responder"]}
    await ok(await api.admin.post(f"/api/v1/incidents/{ref}/roles", json=lead))
    quiet = await declare(api, drill=True)  # drills never go public, so are never flagged
    api.clock.advance(timedelta(minutes=29))  # a P1's update cadence is 30 minutes
    await check(api)
    assert "status_page_silent" not in await kinds(api, ref)
    api.clock.advance(timedelta(minutes=2))
    await asyncio.gather(check(api), check(api))  # two workers at once flag it once
    await new_worker(api.context, periodic=()).run_once()  # delivers the message
    flagged = [e for e in await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))
               if e["kind"] == "status_page_silent"]  # fmt: skip
    assert len(flagged) == 1 and flagged[0]["data"] == {
        "components": ["Payments"], "reminded": api.emails["responder"]
    }  # fmt: skip
    subjects = [b["subject"] for b in sink.bodies()]
    assert f"Status page says all is well during {ref}" in subjects
    assert "status_page_silent" not in await kinds(api, quiet)
    api.clock.advance(timedelta(hours=1))
    await check(api)
    assert (await kinds(api, ref)).count("status_page_silent") == 1


async def test_the_incident_page_shows_the_draft_and_publishes_it_in_one_action(api: Api) -> None:
    await checkout_on_the_page(api)
    ref = await declare(api)
    (draft,) = await drafts(api, ref)
    async with open_web(api) as web:
        page = await web["responder"].client.get(f"/incidents/{ref}")
        shown = text_of(page.text)
        assert "Draft, not public" in shown and "Publish to the status page" in shown
        # A draft waiting for a person comes first, before the forms and the timeline.
        assert shown.index("Publish to the status page") < shown.index("Post an update or note")
        viewer_page = text_of((await web["viewer"].client.get(f"/incidents/{ref}")).text)
        assert "Draft, not public" in viewer_page and "Publish to the status page" not in viewer_page
        form = {"draft": str(draft["id"]), "name": "Payments are failing", "body": "We are on it."}
        other = await declare(api, severity="P3")
        refused = await web["responder"].post(f"/incidents/{other}/status-page/publish", form)
        assert "no such status page draft on this incident" in text_of(refused.text)
        done = await web["responder"].post(f"/incidents/{ref}/status-page/publish", form)
        assert done.status_code == 303 and done.headers["location"].startswith(f"/incidents/{ref}")
        after = text_of((await web["responder"].client.get(f"/incidents/{ref}")).text)
        assert after.index("Published Payments are failing") > after.index("Post an update or note")
    (published,) = await public_incidents(api)
    assert (published["name"], published["incident_updates"][0]["body"]) == ("Payments are failing",
                                                                            "We are on it.")  # fmt: skip
