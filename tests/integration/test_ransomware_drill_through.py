"""Issue #15's drill-through, end to end through the API on both databases: a ransomware P1 is declared; its
playbook's tasks appear; a gated phase refuses to advance; an action approved by the commander reaches a
local webhook sink, signed; an attached EDR alert brings its observables at TLP:AMBER; a memory image is
uploaded and verified; the dwell time shows in the report."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from tests.fakes.sink import Sink, running_sink
from tests.integration.chat_helpers import run_jobs
from tests.integration.conftest import Api
from warroom.actions.domain import verify

SECRET = "drill-through-signing-secret"


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


def automate(api: Api, sink: Sink) -> None:
    """The organisation's procedure points its actions at its automation; none is pre-approved here."""
    procedure = api.context.procedure.procedure
    actions = [
        a.model_copy(update={"url": f"{sink.url}/{a.id}", "pre_approved": False}) for a in procedure.actions
    ]
    api.context.procedure = replace(
        api.context.procedure, procedure=procedure.model_copy(update={"actions": actions})
    )
    api.context.settings.action_secret = SecretStr(SECRET)


async def edr_alert(api: Api) -> int:
    await ok(await api.admin.post("/api/v1/services", json={"slug": "fileshare", "name": "File share"}), 201)
    made = await ok(
        await api.admin.post("/api/v1/integrations", json={"kind": "pagerduty", "service": "fileshare"}), 201
    )
    details = {
        "hostname": "FS-01",
        "src_ip": "10.20.0.15",
        "user": "CORP\\svc-backup",
        "sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
        "note": "ransom note README_DECRYPT.txt; beacon to hxxps://pay.ransom[.]example/id",
    }
    event = {"routing_key": made["key"], "event_action": "trigger", "dedup_key": "edr-fs01-encrypt",
             "payload": {"summary": "Mass file encryption on FS-01", "source": "edr", "severity": "critical",
                         "custom_details": details}}  # fmt: skip
    assert (await api.anonymous.post("/v2/enqueue", json=event)).status_code == 202
    (alert,) = (await ok(await api.admin.get("/api/v1/alerts")))["items"]
    return int(alert["id"])


async def test_a_ransomware_incident_through_its_playbook(api: Api, sink: Sink) -> None:
    automate(api, sink)
    alert_id = await edr_alert(api)
    declared = {"title": "Files encrypted on the file share", "severity": "P1", "type": "ransomware",
                "services": ["fileshare"], "detected_at": api.clock.now().isoformat()}  # fmt: skip
    ref = (await ok(await api.admin.post("/api/v1/incidents", json=declared), 201))["ref"]
    incident = f"/api/v1/incidents/{ref}"
    await ok(
        await api.admin.post(
            f"{incident}/roles", json={"role": "incident_commander", "user": api.emails["admin"]}
        )
    )
    await ok(await api.admin.post(f"{incident}/participants", json={"user": api.emails["responder"]}), 201)

    # The playbook's tasks appear, by phase, with their gates.
    guided = await ok(await api.admin.get(f"{incident}/playbook"))
    steps = {s["step_id"]: s for s in guided["steps"]}
    assert guided["playbook"] == "ransomware" and {
        "isolate_hosts",
        "capture_memory",
        "restore_offline",
    } <= set(steps)
    assert [s["step_id"] for s in guided["steps"] if s["gate"]] == [
        "isolate_hosts", "capture_memory", "reset_credentials", "restore_offline"]  # fmt: skip

    # An attached alert brings its observables, at TLP:AMBER on this restricted incident.
    await ok(await api.admin.post(f"/api/v1/alerts/{alert_id}/attach", json={"incident": ref}))
    found = {(o["type"], o["value"]): o for o in await ok(await api.admin.get(f"{incident}/observables"))}
    assert {("hostname", "fs-01"), ("ip", "10.20.0.15"), ("url", "https://pay.ransom.example/id")} <= set(
        found
    )
    assert {o["tlp"] for o in found.values()} == {"amber"}
    leak = {"audience": "stakeholder", "body": "We are blocking https://pay.ransom.example/id"}
    assert (await api.admin.post(f"{incident}/updates", json=leak)).status_code == 422

    # Containment is entered; its gates hold it there.
    await ok(
        await api.admin.post(f"{incident}/phase", json={"phase": "containment", "reason": "scope known"})
    )
    held = await api.admin.post(f"{incident}/phase", json={"phase": "eradication", "reason": "moving on"})
    assert held.status_code == 409 and "Isolate affected hosts" in held.text

    # Isolating the host is an action the commander approves; the call reaches the sink, signed.
    run = (await ok(await api.responder.post(f"{incident}/tasks/{steps['isolate_hosts']['id']}/start",
                                             json={"target": "fs-01"})))["action_run"]  # fmt: skip
    assert run["state"] == "awaiting_approval"
    await ok(await api.admin.post(f"{incident}/actions/{run['id']}/approve"))
    await run_jobs(api)
    (call,) = sink.received
    assert call["path"] == "/isolate_host" and verify(SECRET, call["headers"], call["body"], int(time.time()))
    assert sink.bodies()[0]["target"] == "fs-01" and sink.bodies()[0]["approved_by"] == api.emails["admin"]
    await ok(await api.responder.patch(f"{incident}/tasks/{steps['isolate_hosts']['id']}",
                                       json={"done": True, "note": "fs-01 isolated by EDR"}))  # fmt: skip

    # The memory image is uploaded as evidence and verified by its hash.
    image = b"MDMP" + bytes(range(256)) * 256
    files = {"file": ("fs-01.mem", image, "application/octet-stream")}
    item = await ok(
        await api.responder.post(f"{incident}/evidence", files=files, data={"collected_from": "fs-01"}), 201
    )
    assert item["sha256"] == hashlib.sha256(image).hexdigest()
    assert (await api.responder.get(f"{incident}/evidence/{item['id']}/download")).content == image
    await ok(await api.responder.patch(f"{incident}/tasks/{steps['capture_memory']['id']}",
                                       json={"done": True, "note": f"evidence #{item['id']}"}))  # fmt: skip

    # With the gates done, containment ends; the first malicious activity goes on record.
    compromised = (api.clock.now() - timedelta(days=6)).isoformat()
    await ok(
        await api.admin.post(f"{incident}/milestones", json={"milestone": "compromised", "at": compromised})
    )
    api.clock.advance(timedelta(hours=2))
    await ok(await api.admin.post(f"{incident}/phase", json={"phase": "eradication", "reason": "contained"}))

    # Dwell time and time to contain, in the report per playbook.
    report = await ok(await api.admin.get("/api/v1/metrics", params={"group_by": "playbook", "since": "30d"}))
    metrics = report["groups"]["ransomware"]["metrics"]
    assert metrics["dwell_time"]["mean"] == 6 * 86400.0
    assert metrics["time_to_contain"]["mean"] == 2 * 3600.0
    kinds = [e["kind"] for e in await ok(await api.admin.get(f"{incident}/timeline"))]
    wanted = ("observable_added", "action_requested", "action_approved", "action_succeeded", "evidence_added",
              "evidence_downloaded", "contained")  # fmt: skip
    assert [kind for kind in wanted if kind not in kinds] == []
