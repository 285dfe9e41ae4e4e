"""A real Prometheus Alertmanager notifying a real warroom server through four integrations at once.

One receiver carries a `webhook_config` to /intake/alertmanager/{key}, a second `webhook_config` to
/intake/alertmanager with the key as a Bearer token, a `pagerduty_config` whose `url` is our /v2/enqueue, and
an `opsgenie_config` whose `api_url` is our root. Alertmanager keys the PagerDuty dedup key and the Opsgenie
alias by the SHA-256 of the group key; the webhook sends each alert's fingerprint and the group key itself.

Without /usr/bin/prometheus-alertmanager the test skips, unless WARROOM_REQUIRE_SENDERS=1 (then it fails).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.conftest import Warroom, poll
from tests.process import follow_start, free_port, stop

ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")
DISK = {"alertname": "DiskFull", "severity": "critical", "job": "node"}
LATENCY = {"alertname": "HighLatency", "severity": "warning", "job": "web"}


@dataclass
class Alertmanager:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return "--- alertmanager log ---\n" + "\n".join(text)

    def failed_attempts(self, integration: str) -> list[str]:
        """Alertmanager's own log lines for attempts at `integration` (e.g. `webhook[1]`) that it saw fail
        (an error, a 5xx, or its 10 s notify deadline passing on a loaded machine): each is sent again."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [x for x in lines if integration in x and "failed" in x.lower()]

    def post(self, alerts: list[dict[str, Any]]) -> None:
        answer = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10)
        assert answer.status_code == 200, answer.text

    def alerts(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v2/alerts", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]


@pytest.fixture
def alertmanager_binary() -> Path:
    if not os.access(ALERTMANAGER, os.X_OK):
        reason = f"{ALERTMANAGER} is missing (apt-get install -y prometheus-alertmanager)"
        if os.environ.get("WARROOM_REQUIRE_SENDERS") == "1":
            pytest.fail(f"WARROOM_REQUIRE_SENDERS=1 but {reason}")
        pytest.skip(reason)
    return ALERTMANAGER


def receiver_config(warroom: Warroom, keys: dict[str, str], **opsgenie: Any) -> dict[str, Any]:
    """One receiver with a config per integration named in `keys` (webhook, bearer, pagerduty, opsgenie)."""
    base = warroom.base_url
    configs: dict[str, dict[str, Any]] = {
        "webhook": {"url": f"{base}/intake/alertmanager/{keys.get('webhook')}"},
        "bearer": {
            "url": f"{base}/intake/alertmanager",
            "http_config": {"authorization": {"credentials": keys.get("bearer")}},
        },
        "pagerduty": {"routing_key": keys.get("pagerduty"), "url": f"{base}/v2/enqueue"},
        "opsgenie": {"api_key": keys.get("opsgenie"), "api_url": f"{base}/", **opsgenie},
    }
    sections = {"webhook": "webhook_configs", "bearer": "webhook_configs"}
    receiver: dict[str, Any] = {"name": "warroom"}
    for name in keys:
        section = sections.get(name, f"{name}_configs")
        receiver.setdefault(section, []).append({**configs[name], "send_resolved": True})
    route = {
        "receiver": "warroom",
        "group_by": ["alertname"],
        "group_wait": "3s",  # room for a loaded machine between the alerts of one post
        "group_interval": "2s",
        "repeat_interval": "1h",
    }
    return {"route": route, "receivers": [receiver]}


@contextmanager
def running_alertmanager(binary: Path, config: dict[str, Any], folder: Path) -> Iterator[Alertmanager]:
    folder.mkdir()
    config_file, log = folder / "alertmanager.yml", folder / "alertmanager.log"
    config_file.write_text(json.dumps(config, indent=2))  # JSON is YAML
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(binary),
                f"--config.file={config_file}",
                f"--storage.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    manager = Alertmanager(f"http://127.0.0.1:{port}", process, log)
    try:
        follow_start(process, lambda: _ready(manager.url), what="Alertmanager", output=manager.tail)
        yield manager
    finally:
        stop(process)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def sent_alerts(starts: datetime, ends: datetime | None = None) -> list[dict[str, Any]]:
    alerts = []
    for labels, instance in ((DISK, "db-1"), (DISK, "db-2"), (LATENCY, "web-1")):
        alert: dict[str, Any] = {
            "labels": {**labels, "instance": instance},
            "annotations": {
                "summary": f"{labels['alertname']} on {instance}",
                "description": f"{instance} needs attention",
                "runbook_url": f"https://runbooks.example/{labels['alertname']}",
            },
            "startsAt": starts.isoformat(),
            "generatorURL": f"http://prometheus.example/graph?g0.expr={labels['alertname']}",
        }
        if ends:
            alert["endsAt"] = ends.isoformat()
        alerts.append(alert)
    return alerts


def by_integration(warroom: Warroom, ids: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    names = {number: name for name, number in ids.items()}
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in warroom.alerts():
        grouped[names[alert["integration_id"]]].append(alert)
    return grouped


def hashed(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()


EXPECTED = {"webhook": 3, "bearer": 3, "pagerduty": 2, "opsgenie": 2}


@pytest.mark.slow
def test_alertmanager_notifies_webhook_pagerduty_and_opsgenie(
    warroom: Warroom, alertmanager_binary: Path, tmp_path: Path
) -> None:
    kinds = {"webhook": "alertmanager", "bearer": "alertmanager", "pagerduty": "pagerduty"}
    made = {name: warroom.integration(kinds.get(name, name), name=name) for name in EXPECTED}
    ids = {name: integration["id"] for name, integration in made.items()}
    config = receiver_config(warroom, {name: integration["key"] for name, integration in made.items()})
    with running_alertmanager(alertmanager_binary, config, tmp_path / "alertmanager") as manager:
        # Starting now, not in the past: Alertmanager flushes a group at once when its first alert is older
        # than group_wait, before the group's second alert is in it, and then sends that first alert again
        # with the second (seen here: db-1 counted twice). Starting now, group_wait holds both for one flush.
        starts = datetime.now(UTC)
        manager.post(sent_alerts(starts))

        def arrived() -> dict[str, list[dict[str, Any]]] | None:
            grouped = by_integration(warroom, ids)
            counts = {name: len(grouped[name]) for name in EXPECTED}
            return grouped if counts == EXPECTED else None

        grouped = poll(arrived, what=f"alerts per integration {EXPECTED}", context=manager.tail)
        fingerprints = {a["labels"]["instance"]: a["fingerprint"] for a in manager.alerts()}
        for index, name in enumerate(("webhook", "bearer")):
            stored = {a["labels"]["instance"]: a for a in grouped[name]}
            assert {i: a["dedup_key"] for i, a in stored.items()} == fingerprints
            assert {a["status"] for a in stored.values()} == {"triggered"}
            assert stored["db-1"]["title"] == "DiskFull on db-1"
            assert stored["db-1"]["description"] == "db-1 needs attention"
            assert (stored["db-1"]["severity"], stored["web-1"]["severity"]) == ("critical", "warning")
            assert {"href": "https://runbooks.example/DiskFull", "text": "Runbook"} in stored["db-2"]["links"]
            assert stored["db-1"]["group_key"] == stored["db-2"]["group_key"] != stored["web-1"]["group_key"]
            assert 'alertname="DiskFull"' in stored["db-1"]["group_key"]
            # Counted once per delivery: more than once only where Alertmanager itself says it sent again.
            repeated = {i: a["count"] for i, a in stored.items() if a["count"] != 1}
            assert not repeated or manager.failed_attempts(f"webhook[{index}]"), (
                f"{name}: counted {repeated} though Alertmanager sent each once\n{manager.tail()}"
            )
        group_keys = {a["labels"]["alertname"]: a["group_key"] for a in grouped["webhook"]}
        expected_keys = {hashed(key): name for name, key in group_keys.items()}
        for name in ("pagerduty", "opsgenie"):
            stored = {expected_keys.get(a["dedup_key"], a["dedup_key"]): a for a in grouped[name]}
            assert set(stored) == {"DiskFull", "HighLatency"}, f"{name} keys: {list(stored)}"
            assert stored["DiskFull"]["title"].startswith("[FIRING:2] DiskFull")
            assert stored["HighLatency"]["title"].startswith("[FIRING:1] HighLatency")
            assert {a["status"] for a in stored.values()} == {"triggered"}
        pagerduty = {a["dedup_key"]: a for a in grouped["pagerduty"]}
        assert {a["severity"] for a in pagerduty.values()} == {"error"}  # Alertmanager's default severity
        opsgenie = {expected_keys[a["dedup_key"]]: a for a in grouped["opsgenie"]}
        assert opsgenie["DiskFull"]["raw_severity"] == "P3"
        assert opsgenie["DiskFull"]["details"]["details"] == {**DISK}  # the group's common labels

        manager.post(sent_alerts(starts, ends=datetime.now(UTC) - timedelta(seconds=1)))

        def resolved() -> dict[str, list[dict[str, Any]]] | None:
            grouped = by_integration(warroom, ids)
            done = all(
                len(grouped[name]) == count and all(a["status"] == "resolved" for a in grouped[name])
                for name, count in EXPECTED.items()
            )
            return grouped if done else None

        final = poll(resolved, what="every alert resolved", context=manager.tail)
    for name in EXPECTED:
        assert all(a["resolved_at"] is not None for a in final[name]), name
    assert {a["dedup_key"] for a in final["webhook"]} == set(fingerprints.values())
    assert {a["dedup_key"] for a in final["opsgenie"]} == set(expected_keys)


@pytest.mark.slow
def test_alertmanager_opsgenie_with_update_alerts(
    warroom: Warroom, alertmanager_binary: Path, tmp_path: Path
) -> None:
    """`update_alerts: true` (a documented opsgenie_config option) adds PUT /v2/alerts/{alias}/message and
    /description?identifierType=alias after each create; a refusal makes Alertmanager count the notification
    as failed and send the create again every group_interval."""
    key = warroom.integration("opsgenie")["key"]
    config = receiver_config(warroom, {"opsgenie": key}, update_alerts=True)
    with running_alertmanager(alertmanager_binary, config, tmp_path / "alertmanager") as manager:
        starts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        manager.post(sent_alerts(starts)[:1])

        def notified() -> str | None:
            lines = manager.log.read_text(errors="replace").splitlines()
            failed = [line for line in lines if "Notify for alerts failed" in line]
            if failed:
                return failed[0]
            return "sent" if any('integration=opsgenie[0] msg="Notify success"' in x for x in lines) else None

        outcome = poll(notified, what="Alertmanager's verdict on the notification", context=manager.tail)
        assert outcome == "sent", f"Alertmanager's notification failed: {outcome}"
        (alert,) = warroom.alerts()
        assert alert["title"].startswith("[FIRING:1] DiskFull") and alert["count"] == 1
        manager.post(sent_alerts(starts, ends=datetime.now(UTC) - timedelta(seconds=1))[:1])
        poll(lambda: warroom.alerts(status="resolved"), what="the alert resolved", context=manager.tail)
    (final,) = warroom.alerts()
    assert final["count"] == 1, "Alertmanager sent the create again: the update was refused"
