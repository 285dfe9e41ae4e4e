"""Playbooks with gates, the guided phase checklist, signed playbook actions and regulatory clocks,
through the API on both databases (issue #15 §2, #14 item 5)."""

from __future__ import annotations

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

SECRET = "s3cret-action-key-for-the-tests"


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def declare(api: Api, kind: str, **extra: Any) -> str:
    body = {"title": f"{kind} on the file servers", "severity": "P1", "type": kind, **extra}
    return str((await ok(await api.responder.post("/api/v1/incidents", json=body), 201))["ref"])


async def command(api: Api, ref: str, role: str = "admin") -> None:
    body = {"role": "incident_commander", "user": api.emails[role]}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/roles", json=body))


async def steps(api: Api, ref: str) -> dict[str, dict[str, Any]]:
    guided = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook"))
    return {step["step_id"]: step for step in guided["steps"]}


async def move(api: Api, ref: str, phase: str, reason: str = "moving on") -> Any:
    return await api.responder.post(f"/api/v1/incidents/{ref}/phase", json={"phase": phase, "reason": reason})


async def test_declaring_starts_the_types_playbook_as_tasks(api: Api) -> None:
    ref = await declare(api, "ransomware")
    guided = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook"))
    assert (guided["playbook"], guided["name"]) == ("ransomware", "Ransomware")
    assert guided["procedure_version"] == api.context.procedure.version_hash
    found = {step["step_id"]: step for step in guided["steps"]}
    assert list(found)[:3] == ["identify_hosts", "isolate_hosts", "capture_memory"]
    isolate = found["isolate_hosts"]
    assert (isolate["phase"], isolate["role"], isolate["gate"], isolate["action"]) == (
        "containment", "technical_lead", True, "isolate_host"
    )  # fmt: skip
    assert isolate["due_at"].startswith((api.clock.now() + timedelta(minutes=30)).isoformat()[:16])
    assert "Which hosts were isolated" in isolate["evidence_prompt"]
    (declared,) = [e for e in await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))
                   if e["kind"] == "declared"]  # fmt: skip
    assert declared["data"]["playbook"] == "ransomware"
    assert declared["data"]["procedure_version"] == api.context.procedure.version_hash
    plain = await declare(api, "degradation")
    simple = await steps(api, plain)
    assert all(not s["gate"] and s["phase"] == "triage" for s in simple.values()) and len(simple) == 4


async def test_a_gate_holds_the_phase_until_done_or_waived_by_the_commander(api: Api) -> None:
    ref = await declare(api, "ransomware")
    await command(api, ref)
    await ok(await move(api, ref, "containment"))
    held = await move(api, ref, "eradication")
    assert held.status_code == 409, held.text
    assert "Isolate affected hosts" in held.json()["detail"] and "Capture memory" in held.json()["detail"]
    found = await steps(api, ref)
    guided = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook"))
    assert set(guided["phase"]["open_gates"]) == {found["isolate_hosts"]["id"], found["capture_memory"]["id"]}
    isolate, capture = found["isolate_hosts"]["id"], found["capture_memory"]["id"]
    done = {"done": True, "note": "fs-01, fs-02 isolated via EDR at 10:12"}
    marked = await ok(await api.responder.patch(f"/api/v1/incidents/{ref}/tasks/{isolate}", json=done))
    assert marked["done_by"]["email"] == api.emails["responder"] and marked["done_note"].startswith("fs-01")
    waive = f"/api/v1/incidents/{ref}/tasks/{capture}/waive"
    not_commander = await api.responder.post(waive, json={"reason": "no time"})
    assert not_commander.status_code == 409 and "only the incident commander" in not_commander.text
    assert (await api.admin.post(waive, json={"reason": " "})).status_code == 422
    waived = await ok(await api.admin.post(waive, json={"reason": "hosts were reimaged by the MSP"}))
    assert waived["waived_by"]["email"] == api.emails["admin"] and waived["waived_reason"]
    assert (await api.admin.post(waive, json={"reason": "again"})).status_code == 409
    await ok(await move(api, ref, "eradication"))
    kinds = [e["kind"] for e in await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))]
    assert "task_waived" in kinds and kinds[-2:] == ["phase_changed", "contained"]


async def test_skipping_a_phase_does_not_skip_its_gates(api: Api) -> None:
    ref = await declare(api, "ransomware")
    await command(api, ref)
    await ok(await move(api, ref, "containment"))
    skipped = await move(api, ref, "recovery")
    assert skipped.status_code == 409 and "Isolate affected hosts" in skipped.text
    assert (await ok(await api.admin.get(f"/api/v1/incidents/{ref}")))["phase"] == "containment"


async def test_the_exit_checklist_is_ticked_or_a_reason_is_given(api: Api) -> None:
    ref = await declare(api, "outage", severity="P3")
    await command(api, ref, "responder")
    refused = await move(api, ref, "containment", reason="")
    assert refused.status_code == 409 and "3 exit criteria of Triage are not ticked" in refused.text
    tick = f"/api/v1/incidents/{ref}/checklist"
    for index in (0, 1):
        await ok(await api.responder.post(tick, json={"phase": "triage", "criterion": index}))
    guided = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook"))
    checklist = guided["phase"]["checklist"]
    assert [c["ticked"] for c in checklist] == [True, True, False]
    assert checklist[0]["ticked_by"]["email"] == api.emails["responder"] and checklist[0]["ticked_at"]
    assert guided["phase"]["responsible"]["role"] == "on_call"
    bad = await api.responder.post(tick, json={"phase": "triage", "criterion": 7})
    assert bad.status_code == 422 and "0 to 2" in bad.text
    assert (await api.responder.post(tick, json={"phase": "nowhere", "criterion": 0})).status_code == 404
    assert (await api.viewer.post(tick, json={"phase": "triage", "criterion": 2})).status_code == 403
    untick = await ok(await api.responder.post(tick, json={"phase": "triage", "criterion": 1, "done": False}))
    assert [c["ticked"] for c in untick["phase"]["checklist"]] == [True, False, False]
    moved = await move(api, ref, "containment", reason="first update is with support")
    assert moved.status_code == 200, moved.text
    events = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))
    (changed,) = [e for e in events if e["kind"] == "phase_changed"]
    assert changed["data"]["unticked"] == [
        "Severity is set and the required roles are assigned",
        "A first internal update has been posted",
    ]
    assert [e["kind"] for e in events].count("exit_check_ticked") == 2
    contain = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook"))
    assert (
        contain["phase"]["id"] == "containment"
        and contain["phase"]["responsible"]["name"] == "Technical lead"
    )
    for index in range(3):
        await ok(await api.responder.post(tick, json={"phase": "containment", "criterion": index}))
    assert (await move(api, ref, "eradication", reason="")).status_code == 200  # all ticked: no reason needed


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


def automate(api: Api, sink: Sink) -> None:
    """Point every action at the sink and give the server its signing secret."""
    procedure = api.context.procedure.procedure
    actions = [a.model_copy(update={"url": f"{sink.url}/{a.id}"}) for a in procedure.actions]
    api.context.procedure = replace(
        api.context.procedure, procedure=procedure.model_copy(update={"actions": actions})
    )
    api.context.settings.action_secret = SecretStr(SECRET)


async def start(api: Api, ref: str, task_id: int, target: str) -> Any:
    path = f"/api/v1/incidents/{ref}/tasks/{task_id}/start"
    return await ok(await api.responder.post(path, json={"target": target}))


async def test_a_pre_approved_action_runs_signed_when_its_step_starts(api: Api, sink: Sink) -> None:
    automate(api, sink)
    ref = await declare(api, "ransomware")
    isolate = (await steps(api, ref))["isolate_hosts"]["id"]
    started = await start(api, ref, isolate, "fs-01")
    assert started["task"]["started_at"] and started["action_run"]["state"] == "queued"
    again = await start(api, ref, isolate, "fs-01")
    assert again["action_run"]["id"] == started["action_run"]["id"]  # starting twice asks once
    await run_jobs(api)
    (call,) = sink.received
    assert call["path"] == "/isolate_host"
    assert verify(SECRET, call["headers"], call["body"], now=int(time.time()))
    assert not verify("another secret", call["headers"], call["body"], now=int(time.time()))
    body = sink.bodies()[0]
    assert (body["action"], body["target"], body["incident"]["ref"]) == ("isolate_host", "fs-01", ref)
    assert body["step"]["id"] == "isolate_hosts" and body["requested_by"] == api.emails["responder"]
    (run,) = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/actions"))
    assert (run["state"], run["response_status"], run["name"]) == ("succeeded", 200, "Isolate host")
    kinds = [e["kind"] for e in await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))]
    assert [k for k in kinds if k.startswith("action_")] == ["action_requested", "action_succeeded"]


async def test_other_actions_wait_for_the_commander(api: Api, sink: Sink) -> None:
    automate(api, sink)
    ref = await declare(api, "ddos")
    await command(api, ref)
    page = (await steps(api, ref))["maintenance_page"]["id"]
    run = (await start(api, ref, page, "shop.example.com"))["action_run"]
    assert run["state"] == "awaiting_approval"
    await run_jobs(api)
    assert sink.received == []
    approve = f"/api/v1/incidents/{ref}/actions/{run['id']}/approve"
    assert (await api.viewer.post(approve)).status_code == 403
    refused = await api.responder.post(approve)
    assert refused.status_code == 409 and "only the incident commander" in refused.text
    approved = await ok(await api.admin.post(approve))
    assert approved["approved_by"]["email"] == api.emails["admin"] and approved["state"] == "queued"
    assert (await api.admin.post(approve)).status_code == 409
    await run_jobs(api)
    assert [r["path"] for r in sink.received] == ["/maintenance_page"]
    assert sink.bodies()[0]["approved_by"] == api.emails["admin"]


async def test_a_refused_call_is_retried_then_failed_visibly(api: Api, sink: Sink) -> None:
    automate(api, sink)
    sink.status = 500
    ref = await declare(api, "phishing", severity="P2")
    block = (await steps(api, ref))["block_sender"]["id"]
    run = (await start(api, ref, block, "evil@phish.example"))["action_run"]
    for _ in range(3):
        await run_jobs(api)
        api.clock.advance(timedelta(minutes=5))
    assert sink.refused == 3
    (failed,) = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/actions"))
    assert failed["id"] == run["id"] and failed["state"] == "failed" and "HTTP 500" in failed["error"]
    events = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))
    assert [e["kind"] for e in events][-1] == "action_failed"
    retried = await start(api, ref, block, "evil@phish.example")
    assert retried["action_run"]["id"] != run["id"]  # a failed run may be asked for again


async def test_drills_never_call_the_automation(api: Api, sink: Sink) -> None:
    automate(api, sink)
    ref = await declare(api, "ransomware", drill=True)
    isolate = (await steps(api, ref))["isolate_hosts"]["id"]
    await start(api, ref, isolate, "fs-01")
    await run_jobs(api)
    assert sink.received == []
    (run,) = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/actions"))
    assert run["state"] == "succeeded" and run["response_body"] == "drill: not sent"
    assert run["request"]["target"] == "fs-01"


async def test_without_a_url_a_step_is_done_by_hand_and_without_a_secret_nothing_is_sent(
    api: Api, sink: Sink
) -> None:
    ref = await declare(api, "ransomware")
    isolate = (await steps(api, ref))["isolate_hosts"]["id"]
    assert (await start(api, ref, isolate, "fs-01"))["action_run"] is None  # the default has no urls
    automate(api, sink)
    api.context.settings.action_secret = None
    other = await declare(api, "credential_compromise")
    disable = (await steps(api, other))["disable_credential"]["id"]
    await start(api, other, disable, "jdoe")
    await run_jobs(api)
    (run,) = await ok(await api.admin.get(f"/api/v1/incidents/{other}/actions"))
    assert run["state"] == "failed" and "WARROOM_ACTION_SECRET" in run["error"] and sink.received == []


async def test_a_data_breach_carries_a_regulatory_clock(api: Api) -> None:
    detected = api.clock.now() - timedelta(hours=10)
    ref = await declare(api, "data_breach", detected_at=detected.isoformat())
    (clock,) = (await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook")))["deadlines"]
    assert clock["id"] == "gdpr_supervisory_authority" and clock["state"] == "ok"
    assert clock["due_at"].startswith((detected + timedelta(hours=72)).isoformat()[:16])
    api.clock.advance(timedelta(hours=30))  # 40 of 72 hours gone
    (clock,) = (await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook")))["deadlines"]
    assert clock["state"] == "warn"
    notify = (await steps(api, ref))["notify_regulator"]["id"]
    await ok(await api.responder.patch(f"/api/v1/incidents/{ref}/tasks/{notify}", json={"done": True}))
    api.clock.advance(timedelta(hours=100))
    (clock,) = (await ok(await api.admin.get(f"/api/v1/incidents/{ref}/playbook")))["deadlines"]
    assert clock["state"] == "met" and clock["met_at"]


async def test_dwell_time_and_time_to_contain_per_playbook(api: Api) -> None:
    ref = await declare(api, "ransomware")
    await command(api, ref)
    compromised = (api.clock.now() - timedelta(days=3)).isoformat()
    estimate = {"milestone": "compromised", "at": compromised}
    await ok(await api.admin.post(f"/api/v1/incidents/{ref}/milestones", json=estimate))
    await ok(await move(api, ref, "containment"))
    for step in ("isolate_hosts", "capture_memory"):
        task = (await steps(api, ref))[step]["id"]
        await ok(await api.responder.patch(f"/api/v1/incidents/{ref}/tasks/{task}", json={"done": True}))
    api.clock.advance(timedelta(minutes=45))
    await ok(await move(api, ref, "eradication"))
    await declare(api, "outage", severity="P3")
    report = await ok(await api.admin.get("/api/v1/metrics", params={"group_by": "playbook", "since": "30d"}))
    groups = report["groups"]
    assert set(groups) == {"ransomware", "outage"}
    ransomware = groups["ransomware"]["metrics"]
    assert ransomware["dwell_time"]["count"] == 1 and ransomware["dwell_time"]["mean"] == 3 * 86400.0
    assert ransomware["time_to_contain"]["mean"] == 45 * 60.0
    assert groups["outage"]["metrics"]["dwell_time"]["count"] == 0
