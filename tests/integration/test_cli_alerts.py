"""Alert commands against real processes on both databases: integration create/list/rotate, alerts, ack,
replay, and `warroom worker` running triage on its own."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import cli
from tests.conftest import emptied_after
from tests.process import (
    WARROOM,
    ServerProcess,
    child_env,
    exited,
    follow_start,
    plain,
    printed,
    stop,
    wait_for_start,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


@dataclass
class Site:
    url: str
    db_env: dict[str, str]
    admin_token: str

    def admin_cli(self, *args: str) -> str:
        result = cli.invoke(args, {**self.db_env, "COLUMNS": "200"})
        assert result.exit_code == 0, (args, result.output, result.exception)
        return plain(result.stdout)

    def operator_cli(self, *args: str) -> str:
        env = {"WARROOM_URL": self.url, "WARROOM_TOKEN": self.admin_token, "COLUMNS": "200"}
        result = cli.invoke(args, env)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return plain(result.stdout)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        response = httpx.request(method, f"{self.url}{path}", headers=headers, timeout=10, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture
def site(module_server: ServerProcess, module_database: dict[str, str]) -> Iterator[Site]:
    db_env = module_database
    with emptied_after(db_env):
        token = cli.invoke(
            ["token", "create", "--email", "root@example.com", "--name", "t", "--role", "admin"], db_env
        )
        assert token.exit_code == 0, token.output
        site = Site(module_server.url, db_env, token.stdout.strip())
        site.api("POST", "/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
        yield site


def created_key(output: str) -> str:
    found = re.search(r"key: ([0-9a-f]{32})", output)
    assert found, output
    return found.group(1)


def until(check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.slow
def test_integration_alerts_ack_and_replay(site: Site) -> None:
    output = site.admin_cli("integration", "create", "--kind", "alertmanager", "--service", "checkout")
    key = created_key(output)
    assert f"/intake/alertmanager/{key}" in output
    body = json.loads((FIXTURES / "alertmanager_firing.json").read_text())
    for alert in body["alerts"]:
        alert["endsAt"] = "0001-01-01T00:00:00Z"  # firing now, whatever the fixture's dates
    sent = httpx.post(f"{site.url}/intake/alertmanager/{key}", json=body, timeout=10)
    assert sent.status_code == 202, sent.text
    listing = site.operator_cli("alerts")
    first = body["alerts"][0]
    assert f"{len(body['alerts'])} alert(s)" in listing and first["fingerprint"][:24] in listing
    listed = json.loads(site.operator_cli("alerts", "--json"))
    assert sorted(a["dedup_key"] for a in listed["items"]) == sorted(a["fingerprint"] for a in body["alerts"])
    acked = site.operator_cli("ack", first["fingerprint"])
    assert "is acknowledged" in acked
    assert "is triggered" in site.operator_cli("unack", first["fingerprint"])
    assert "is acknowledged" in site.operator_cli("ack", first["fingerprint"])
    replayed = site.admin_cli("alerts", "replay")
    assert f"replayed 1 request(s) into {len(body['alerts'])} alert(s); 0 rejected" in replayed
    assert "/intake/alertmanager/" in site.admin_cli("integration", "list")


@pytest.mark.slow
def test_rotating_a_key_turns_the_old_one_away(site: Site) -> None:
    old = created_key(site.admin_cli("integration", "create", "--kind", "webhook", "--service", "checkout"))
    rotated = site.admin_cli("integration", "rotate", "1")
    new = created_key(rotated)
    assert new != old
    payload = {"id": "x", "title": "after rotation"}
    assert httpx.post(f"{site.url}/intake/webhook/{new}", json=payload, timeout=10).status_code == 202
    # the server caches keys for a few seconds; the old key must stop working within that time
    until(lambda: httpx.post(f"{site.url}/intake/webhook/{old}", json=payload, timeout=10).status_code == 401)


@pytest.mark.slow
def test_a_separate_worker_process_triages_alerts(site: Site, tmp_path: Path) -> None:
    key = created_key(site.admin_cli("integration", "create", "--kind", "webhook", "--service", "checkout"))
    rule = {"name": "declare everything", "action": "declare", "incident_severity": "P2"}
    site.api("POST", "/api/v1/services/checkout/alert-rules", json=rule)
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [str(WARROOM), "worker"], env=child_env(site.db_env), stdout=sink, stderr=sink
        )
    try:
        follow_start(worker, printed(log, "worker running"), what="warroom worker", output=log.read_text)
        httpx.post(f"{site.url}/intake/webhook/{key}", json={"id": "w1", "title": "queue stuck"}, timeout=10)
        # Work, not start-up, but a busy machine slows it as much: the worker's own deadline, failing at
        # once (with its output) if it exits.
        wait_for_start(
            lambda: site.api("GET", "/api/v1/incidents")["total"] == 1,
            exited(worker),
            what="warroom worker triaging the alert",
            output=log.read_text,
        )
        (incident,) = site.api("GET", "/api/v1/incidents")["items"]
        assert (incident["title"], incident["severity"]) == ("queue stuck", "P2")
        assert site.api("GET", "/api/v1/alerts")["items"][0]["incident"] == incident["ref"]
    finally:
        code = stop(worker)  # type: ignore[arg-type]
    assert code == 0, log.read_text()


@pytest.mark.slow
def test_on_call_commands(site: Site, tmp_path: Path) -> None:
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(
        "slug: payments\nname: Payments\nlayers:\n"
        "  - name: weekly\n    participants: [root@example.com]\n    start: '2026-01-05T09:00:00+01:00'\n"
        "    shift_length: 1\n    shift_unit: weeks\n    time_zone: Europe/Berlin\n"
    )
    assert "schedule payments created; iCal feed:" in site.operator_cli("schedule", "create", str(schedule))
    listed = site.operator_cli("schedule", "list")
    layer = re.search(r"#(\d+) weekly: root@example.com", listed)
    assert layer, listed
    change = tmp_path / "change.yaml"
    change.write_text("name: Payments team\n")
    assert "schedule payments updated" in site.operator_cli("schedule", "update", "payments", str(change))
    change.write_text("shift_length: 2\n")
    updated = site.operator_cli("schedule", "update", "payments", str(change), "--layer", layer.group(1))
    assert f"layer {layer.group(1)} of schedule payments updated" in updated
    assert site.api("GET", "/api/v1/schedules/payments")["layers"][0]["shift"] == "2 weeks"
    assert "root@example.com" in site.operator_cli("schedule", "show", "payments", "--days", "3")
    covered = site.operator_cli(
        "schedule",
        "override",
        "payments",
        "root@example.com",
        "--start",
        "2026-12-24T18:00Z",
        "--end",
        "2026-12-26T09:00Z",
    )
    assert "root@example.com covers payments from 2026-12-24 18:00 UTC" in covered
    oncall = site.operator_cli("oncall", "--at", "2026-12-25T03:00Z")
    assert "payments" in oncall and "override" in oncall
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "slug": "pay",
                "name": "Pay",
                "services": ["checkout"],
                "steps": [{"delay_seconds": 0, "targets": [{"type": "schedule", "ref": "payments"}]}],
            }
        )
    )
    assert "policy pay created with 1 step(s)" in site.operator_cli("policy", "create", str(policy))
    assert "checkout" in site.operator_cli("policy", "list")
    change.write_text("repeat: 2\n")
    assert "policy pay updated: 1 step(s)" in site.operator_cli("policy", "update", "pay", str(change))
    assert site.api("GET", "/api/v1/escalation-policies/pay")["repeat"] == 2
    added = site.operator_cli("contact", "add", "--kind", "email", "--address", "root@example.com")
    method = re.search(r"contact method (\d+)", added)
    assert method, added
    assert "after 120 s for high urgency" in site.operator_cli(
        "contact", "rule", "--method", method.group(1), "--delay", "120"
    )
    assert "root@example.com" in site.operator_cli("contact", "list")
