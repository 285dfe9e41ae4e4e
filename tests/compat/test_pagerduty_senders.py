"""PagerDuty's own Python clients against a real warroom server: Events API v2 alert and change events.

`pdpyras` (deprecated, still widely deployed) talks plain HTTP; `pagerduty` 7.x refuses anything but
https://, so it talks to the TLS server and trusts the test CA through an `ssl.SSLContext` (httpx2 deprecates
`verify=<path>`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import pagerduty
import pdpyras
import pytest

from tests.compat.conftest import Warroom

LINK = {"href": "https://grafana.example/d/disk", "text": "Disk dashboard"}


class EventsSender(Protocol):
    """What pdpyras.EventsAPISession and pagerduty.EventsApiV2Client have in common."""

    def trigger(
        self,
        summary: str,
        source: str,
        dedup_key: str | None = None,
        severity: str = "critical",
        payload: dict[str, Any] | None = None,
        custom_details: dict[str, Any] | None = None,
        images: list[dict[str, Any]] | None = None,
        links: list[dict[str, Any]] | None = None,
    ) -> str: ...

    def acknowledge(self, dedup_key: str) -> str: ...

    def resolve(self, dedup_key: str) -> str: ...


def pdpyras_events(warroom: Warroom, key: str) -> pdpyras.EventsAPISession:
    session = pdpyras.EventsAPISession(key)
    session.url = warroom.base_url
    return session


@pytest.fixture
def pagerduty_client() -> Iterator[list[pagerduty.EventsApiV2Client]]:
    """Closes every pagerduty client a test makes (each is an httpx2.Client with a connection pool)."""
    made: list[pagerduty.EventsApiV2Client] = []
    yield made
    for client in made:
        client.close()


def official_events(
    warroom: Warroom, key: str, made: list[pagerduty.EventsApiV2Client]
) -> pagerduty.EventsApiV2Client:
    client = pagerduty.EventsApiV2Client(key, base_url=warroom.base_url, verify=warroom.ssl_context())
    made.append(client)
    return client


def exercise_alert_lifecycle(sender: EventsSender, warroom: Warroom) -> None:
    """Trigger with and without a dedup key, repeat, acknowledge, resolve; check each step through the API."""
    answered = sender.trigger(
        "Disk full on db-1",
        "db-1",
        dedup_key="disk-db-1",
        severity="warning",
        payload={"component": "postgres", "group": "db", "class": "disk"},
        custom_details={"free_bytes": 0, "mount": "/var"},
        links=[LINK],
    )
    assert answered == "disk-db-1"
    (alert,) = warroom.alerts()
    assert (alert["dedup_key"], alert["status"], alert["count"]) == ("disk-db-1", "triggered", 1)
    assert (alert["title"], alert["source"], alert["severity"], alert["raw_severity"]) == (
        "Disk full on db-1",
        "db-1",
        "warning",
        "warning",
    )
    assert alert["labels"] == {"component": "postgres", "group": "db", "class": "disk"}
    assert alert["group_key"] == "db" and alert["service"] == "checkout"
    assert alert["links"] == [LINK]
    assert alert["details"]["custom_details"] == {"free_bytes": 0, "mount": "/var"}
    assert "routing_key" not in alert["details"]

    generated = sender.trigger("CPU hot on web-1", "web-1", severity="error")
    assert isinstance(generated, str) and len(generated) == 32
    assert sender.trigger("CPU hot on web-1", "web-1", severity="critical") == generated
    cpu = warroom.alert(generated)
    assert (cpu["title"], cpu["count"], cpu["severity"], cpu["status"]) == (
        "CPU hot on web-1",
        2,
        "critical",
        "triggered",
    )

    assert sender.trigger("Disk still full on db-1", "db-1", dedup_key="disk-db-1") == "disk-db-1"
    disk = warroom.alert("disk-db-1")
    assert (disk["count"], disk["title"], disk["severity"]) == (2, "Disk still full on db-1", "critical")

    assert sender.acknowledge("disk-db-1") == "disk-db-1"
    disk = warroom.alert("disk-db-1")
    assert disk["status"] == "acknowledged" and disk["acknowledged_at"] is not None
    assert sender.resolve("disk-db-1") == "disk-db-1"
    disk = warroom.alert("disk-db-1")
    assert disk["status"] == "resolved" and disk["resolved_at"] is not None
    assert [e["action"] for e in warroom.events(disk["id"])] == [
        "trigger",
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert sender.resolve(generated) == generated
    assert {a["dedup_key"]: a["status"] for a in warroom.alerts()} == {
        "disk-db-1": "resolved",
        generated: "resolved",
    }

    assert sender.trigger("Disk full again", "db-1", dedup_key="disk-db-1") == "disk-db-1"
    reopened = warroom.alerts(status="triggered")
    assert [(a["dedup_key"], a["count"]) for a in reopened] == [("disk-db-1", 1)]  # a new alert
    assert len(warroom.alerts()) == 3


def answer_of(error: pagerduty.HttpError) -> Any:
    """The httpx2.Response an HttpError carries (always set for HTTP errors; typed Optional)."""
    assert error.response is not None
    return error.response


def assert_nothing_stored(warroom: Warroom, integration_id: int) -> None:
    assert warroom.alerts() == []
    assert warroom.changes() == []
    answer = warroom.admin.get(f"/api/v1/integrations/{integration_id}")
    assert answer.json()["last_event_at"] is None


def test_pdpyras_events_trigger_ack_resolve(warroom: Warroom) -> None:
    key = warroom.integration("pagerduty")["key"]
    exercise_alert_lifecycle(pdpyras_events(warroom, key), warroom)


def test_pdpyras_change_event(warroom: Warroom) -> None:
    key = warroom.integration("pagerduty")["key"]
    session = pdpyras.ChangeEventsAPISession(key)
    session.url = warroom.base_url
    build = {"href": "https://ci.example/builds/42", "text": "Build 42"}
    answer = session.submit(
        "Deployed checkout v42",
        source="ci",
        custom_details={"version": "v42", "commit": "abc123"},
        links=[build],
        timestamp="2026-03-02T09:58:00Z",
    )
    assert answer is None  # pdpyras returns the body's "id"; the answer has none (nor has PagerDuty's)
    (change,) = warroom.changes()
    assert (change["summary"], change["source"]) == ("Deployed checkout v42", "ci")
    assert change["details"]["custom_details"] == {"version": "v42", "commit": "abc123"}
    assert "routing_key" not in change["details"]
    assert change["links"] == [build]
    assert datetime.fromisoformat(change["at"]) == datetime(2026, 3, 2, 9, 58, tzinfo=UTC)
    assert warroom.alerts() == []  # a change opens no alert


def test_pdpyras_change_event_with_only_a_summary(warroom: Warroom) -> None:
    """pdpyras's `submit(summary)` sends no source, links or custom_details and its own timestamp."""
    key = warroom.integration("pagerduty")["key"]
    session = pdpyras.ChangeEventsAPISession(key)
    session.url = warroom.base_url
    before = datetime.now(UTC)
    session.submit("Feature flag checkout-v2 on")
    (change,) = warroom.changes()
    assert (change["summary"], change["source"], change["links"]) == ("Feature flag checkout-v2 on", "", [])
    assert datetime.fromisoformat(change["at"]) >= before.replace(microsecond=0)


def test_pdpyras_refusals_raise_and_store_nothing(warroom: Warroom) -> None:
    integration = warroom.integration("pagerduty")
    opsgenie_key = warroom.integration("opsgenie")["key"]
    with pytest.raises(pdpyras.PDHTTPError) as unknown:
        pdpyras_events(warroom, "0" * 32).trigger("Disk full", "db-1")
    assert unknown.value.response.status_code == 403
    assert unknown.value.response.json()["status"] == "invalid event"
    with pytest.raises(pdpyras.PDHTTPError) as wrong_kind:
        pdpyras_events(warroom, opsgenie_key).trigger("Disk full", "db-1")
    assert wrong_kind.value.response.status_code == 403
    assert "opsgenie" in " ".join(wrong_kind.value.response.json()["errors"])
    with pytest.raises(pdpyras.PDHTTPError) as invalid:
        pdpyras_events(warroom, integration["key"]).trigger("Disk full", "db-1", severity="fatal")
    assert invalid.value.response.status_code == 400
    body = invalid.value.response.json()
    assert body["message"] == "Event object is invalid"
    assert any("payload.severity" in error for error in body["errors"])
    with pytest.raises(pdpyras.PDHTTPError) as bad_change:
        session = pdpyras.ChangeEventsAPISession("0" * 32)
        session.url = warroom.base_url
        session.submit("Deployed v43", source="ci")
    assert bad_change.value.response.status_code == 403
    assert_nothing_stored(warroom, integration["id"])


def test_pagerduty_client_over_tls_trigger_ack_resolve(
    warroom_tls: Warroom, pagerduty_client: list[pagerduty.EventsApiV2Client]
) -> None:
    with pytest.raises(pagerduty.UrlError):
        pagerduty.EventsApiV2Client("k", base_url=warroom_tls.base_url.replace("https:", "http:"))
    key = warroom_tls.integration("pagerduty")["key"]
    exercise_alert_lifecycle(official_events(warroom_tls, key, pagerduty_client), warroom_tls)


def test_pagerduty_client_over_tls_change_events(
    warroom_tls: Warroom, pagerduty_client: list[pagerduty.EventsApiV2Client]
) -> None:
    key = warroom_tls.integration("pagerduty")["key"]
    client = official_events(warroom_tls, key, pagerduty_client)
    # `submit` needs an explicit timestamp: pagerduty 7.2.0's default (`event_timestamp`) raises
    # AttributeError (it calls `datetime.timezone` on the datetime class).
    client.submit(
        "Deployed checkout v43",
        source="ci",
        custom_details={"version": "v43"},
        links=[{"href": "https://ci.example/builds/43", "text": "Build 43"}],
        timestamp="2026-03-02T10:01:00+00:00",
    )
    client.send_change_event(payload={"summary": "Config push", "source": "chef"})
    changes = sorted(warroom_tls.changes(), key=lambda c: c["summary"])
    assert [(c["summary"], c["source"]) for c in changes] == [
        ("Config push", "chef"),
        ("Deployed checkout v43", "ci"),
    ]
    assert changes[1]["details"]["custom_details"] == {"version": "v43"}
    assert changes[1]["links"] == [{"href": "https://ci.example/builds/43", "text": "Build 43"}]
    assert warroom_tls.alerts() == []


def test_pagerduty_client_refusals_raise_and_store_nothing(
    warroom_tls: Warroom, pagerduty_client: list[pagerduty.EventsApiV2Client]
) -> None:
    integration = warroom_tls.integration("pagerduty")
    with pytest.raises(pagerduty.HttpError) as unknown:
        official_events(warroom_tls, "0" * 32, pagerduty_client).trigger("Disk full", "db-1")
    assert answer_of(unknown.value).status_code == 403
    assert answer_of(unknown.value).json()["message"] == "Event object is invalid"
    client = official_events(warroom_tls, integration["key"], pagerduty_client)
    with pytest.raises(pagerduty.HttpError) as invalid:
        client.trigger("", "db-1")
    assert answer_of(invalid.value).status_code == 400
    assert any("payload.summary" in e for e in answer_of(invalid.value).json()["errors"])
    with pytest.raises(pagerduty.HttpError) as long_key:
        client.acknowledge("k" * 256)
    assert answer_of(long_key.value).status_code == 400
    with pytest.raises(pagerduty.HttpError) as bad_change:
        client.send_change_event(payload={"source": "ci"})
    assert answer_of(bad_change.value).status_code == 400
    assert_nothing_stored(warroom_tls, integration["id"])
