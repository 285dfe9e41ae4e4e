"""Declaring an incident by hand pages whom the procedure's severity names (issue #14, item 1): the affected
services' escalation policies and the incident-commander-on-duty schedule, each once, through the real
worker and the `log` channel; raising the severity pages only the new severity's extra targets. Both
databases, through the API; time moves by the clock."""

from __future__ import annotations

from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import structlog

from tests import cli
from tests.conftest import START
from tests.integration.conftest import Api
from warroom.jobs.worker import Worker
from warroom.procedure.loader import ProcedureInvalid, load_procedure_file
from warroom.wiring import new_worker

DEFAULT_PROCEDURE = Path(str(files("warroom.procedure") / "default.yaml"))


async def _on_call_setup(api: Api) -> None:
    """`checkout` escalates to the `primary` schedule (responder), then after 5 minutes to the viewer (the
    secondary); the admin is the incident commander on duty. Everyone is paged in the server log."""
    for role in ("responder", "viewer", "admin"):
        method = await api.clients[role].post(
            "/api/v1/me/contact-methods", json={"kind": "log", "address": api.emails[role]}
        )
        assert method.status_code == 201, method.text
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    for slug, who in (("primary", "responder"), ("incident-commander", "admin")):
        layer = {"name": "all week", "participants": [api.emails[who]], "start": START.isoformat(),
                 "shift_length": 1, "shift_unit": "weeks", "time_zone": "UTC"}  # fmt: skip
        made = await api.admin.post(
            "/api/v1/schedules", json={"slug": slug, "name": slug.title(), "layers": [layer]}
        )
        assert made.status_code == 201, made.text
    policy = {
        "slug": "checkout-oncall",
        "name": "Checkout on call",
        "services": ["checkout"],
        "steps": [
            {"delay_seconds": 0, "targets": [{"type": "schedule", "ref": "primary"}]},
            {"delay_seconds": 300, "targets": [{"type": "user", "ref": api.emails["viewer"]}]},
        ],
    }
    created = await api.admin.post("/api/v1/escalation-policies", json=policy)
    assert created.status_code == 201, created.text


async def _pages(worker: Worker) -> list[str]:
    """Whom one worker pass paged (the `log` channel's PAGE lines), sorted."""
    with structlog.testing.capture_logs() as logged:
        for _ in range(3):  # the page job, then its step jobs, then their deliveries
            await worker.run_once()
    return sorted(line["to"] for line in logged if line["event"] == "PAGE")


async def _declare(api: Api, severity: str, services: list[str]) -> str:
    body = {"title": "Checkout down", "severity": severity, "type": "outage", "services": services}
    declared = await api.responder.post("/api/v1/incidents", json=body)
    assert declared.status_code == 201, declared.text
    return str(declared.json()["ref"])


async def _paged_events(api: Api, ref: str) -> list[dict[str, Any]]:
    timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    return [e["data"] for e in timeline if e["kind"] == "paged"]


async def test_a_declared_p1_pages_primary_secondary_and_the_commander_on_duty_once_each(api: Api) -> None:
    await _on_call_setup(api)
    worker = new_worker(api.context, periodic=())
    ref = await _declare(api, "P1", ["checkout"])
    assert await _pages(worker) == sorted([api.emails["responder"], api.emails["admin"]])
    api.clock.advance(timedelta(minutes=5))
    assert await _pages(worker) == [api.emails["viewer"]]  # nobody acknowledged: the secondary
    api.clock.advance(timedelta(hours=2))
    assert await _pages(worker) == []  # each target once: the policy does not repeat, the schedule is done
    paged = await _paged_events(api, ref)
    reasons = {event["user"]: event["reason"] for event in paged}
    assert len(paged) == 3 and set(reasons) == {api.emails[r] for r in ("responder", "viewer", "admin")}
    assert reasons[api.emails["responder"]] == (
        "declared P1: affected service checkout escalates by policy Checkout on call"
    )
    assert reasons[api.emails["admin"]] == (
        "declared P1: the procedure pages whoever is on call for schedule incident-commander"
    )


async def test_raising_the_severity_pages_only_the_new_severitys_extra_targets(api: Api) -> None:
    await _on_call_setup(api)
    worker = new_worker(api.context, periodic=())
    ref = await _declare(api, "P3", ["checkout"])  # P3 pages the service policy only
    assert await _pages(worker) == [api.emails["responder"]]
    raised = await api.responder.patch(
        f"/api/v1/incidents/{ref}", json={"severity": "P1", "severity_reason": "all card brands down"}
    )
    assert raised.status_code == 200, raised.text
    assert await _pages(worker) == [api.emails["admin"]]  # the commander on duty; the policy is not restarted
    (admin_paged,) = [e for e in await _paged_events(api, ref) if e["user"] == api.emails["admin"]]
    assert admin_paged["reason"].startswith("raised to P1:")


async def test_acknowledging_the_incident_stops_its_paging(api: Api) -> None:
    await _on_call_setup(api)
    worker = new_worker(api.context, periodic=())
    ref = await _declare(api, "P1", ["checkout"])
    assert len(await _pages(worker)) == 2
    acknowledged = await api.responder.post(f"/api/v1/incidents/{ref}/acknowledge")
    assert acknowledged.status_code == 200, acknowledged.text
    api.clock.advance(timedelta(minutes=10))
    assert await _pages(worker) == []  # the secondary is not woken for an incident someone owns


async def test_the_acknowledge_link_in_a_declared_page_acknowledges_the_incident(api: Api) -> None:
    await _on_call_setup(api)
    worker = new_worker(api.context, periodic=())
    ref = await _declare(api, "P1", ["checkout"])
    with structlog.testing.capture_logs() as logged:
        for _ in range(3):
            await worker.run_once()
    (page,) = [line for line in logged if line.get("to") == api.emails["admin"]]
    path = page["acknowledge"].replace(api.context.settings.resolved_base_url(), "")
    shown = await api.anonymous.get(path)
    assert shown.status_code == 200 and f"{ref} Checkout down" in shown.text and "<form" in shown.text
    assert (await api.admin.get(f"/api/v1/incidents/{ref}")).json()["acknowledged_at"] is None  # GET: nothing
    done = await api.anonymous.post(path)
    assert done.status_code == 200 and "Paging stopped" in done.text
    incident = (await api.admin.get(f"/api/v1/incidents/{ref}")).json()
    assert incident["acknowledged_at"] is not None
    timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    assert [e["actor"] for e in timeline if e["kind"] == "acknowledged"] == [api.emails["admin"]]
    api.clock.advance(timedelta(minutes=10))
    assert await _pages(worker) == []  # the secondary is not woken


async def test_a_target_that_cannot_be_paged_is_said_on_the_timeline(api: Api) -> None:
    worker = new_worker(api.context, periodic=())  # no schedules, no services with policies
    ref = await _declare(api, "P1", [])
    assert await _pages(worker) == []
    timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    failed = sorted(e["data"]["problem"] for e in timeline if e["kind"] == "page_failed")
    assert failed == [
        "no affected service has an escalation policy (name the services when declaring)",
        "no schedule 'incident-commander'",
    ]


def test_procedure_check_refuses_free_text_in_page_with_a_hint(tmp_path: Path) -> None:
    lines = DEFAULT_PROCEDURE.read_text(encoding="utf-8").splitlines()
    at = lines.index("      - schedule: incident-commander")  # P1's, the first severity
    lines[at] = "      - incident commander on duty"
    lines.insert(at + 1, "      - {rota: night}")
    broken = tmp_path / "procedure.yaml"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = cli.run_main(["procedure", "check", str(broken)], {})
    assert done.returncode == 1, (done.stdout, done.stderr)
    problems = done.stderr.strip().splitlines()
    hint = (
        "write service_policy (the affected services' escalation policies), or one of {schedule: <slug>}, "
        "{team: <slug>}, {user: <email>}"
    )
    free_text = "'incident commander on duty' is not a page target"
    assert problems[0] == f"{broken}:{at + 1}:9: severities[0].page[1]: {free_text}; {hint}", problems
    assert problems[1].startswith(f"{broken}:{at + 2}:9: severities[0].page[2]: {{'rota': 'night'}} is not")
    with pytest.raises(ProcedureInvalid):  # loading it (warroom serve, WARROOM_PROCEDURE) refuses it too
        load_procedure_file(broken)
