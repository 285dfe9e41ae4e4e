from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from warroom.alerts.domain import AlertEventIn, IntakeRejected, Problem
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.datadog import parse, parse_date, parse_tags

FIXTURES = Path(__file__).parents[1] / "fixtures" / "intake"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"
DEDUP_PROBLEM = Problem(
    "alert_cycle_key",
    "is missing: one of alert_cycle_key ($ALERT_CYCLE_KEY), aggregate ($AGGREG_KEY) or alert_id ($ALERT_ID)"
    " is required",
)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def request(body: dict[str, Any] | bytes, content_type: str = "application/json") -> IntakeRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return IntakeRequest(body=raw, content_type=content_type, now=NOW)


def event(**fields: Any) -> AlertEventIn:
    return parse(request({"alert_id": "42", **fields}))


def problems(body: dict[str, Any] | bytes, content_type: str = "application/json") -> list[Problem]:
    with pytest.raises(IntakeRejected) as caught:
        parse(request(body, content_type))
    return caught.value.problems


def test_a_triggered_monitor_maps_every_field() -> None:
    body = fixture("datadog_triggered.json")

    assert parse(request(body)) == AlertEventIn(
        action="trigger",
        dedup_key="7340911528774519871",
        title="[Triggered on {host:web-04}] CPU above 90% on web-04",
        description="%%%\nCPU usage on web-04 has been above 90% for 10 minutes.\n\n@webhook-warroom\n%%%",
        severity="error",
        raw_severity="P2",
        source="web-04",
        group_key="d1c3a0f5e7b94c2a86f0e1b2c3d4e5f6",
        labels={"monitor": "", "env": "prod", "team": "payments", "service": "checkout-api"},
        links=[{"href": "https://app.datadoghq.com/event/event?id=8011223344556677889", "text": "Datadog"}],
        details=body,
        occurred_at=datetime(2026, 3, 2, 9, 58, tzinfo=UTC),
    )


def test_a_recovery_resolves_the_same_cycle_key_with_info_severity() -> None:
    triggered = parse(request(fixture("datadog_triggered.json")))

    recovered = parse(request(fixture("datadog_recovered.json")))

    assert (recovered.action, recovered.dedup_key) == ("resolve", triggered.dedup_key)
    assert (recovered.severity, recovered.raw_severity) == ("info", "success")
    assert recovered.details["org"] == {"id": "112233", "name": "Example Corp"}


def test_a_form_encoded_webhook_maps_like_json() -> None:
    raw = (FIXTURES / "datadog_warn_form.txt").read_bytes()

    got = parse(request(raw, f"{FORM}; charset=utf-8"))

    assert got == AlertEventIn(
        action="trigger",
        dedup_key="7340911528774520000",
        title="[Warn on {host:queue-01}] Queue depth above 5000",
        description="%%%\nQueue depth on queue-01 is 6120 & rising.\n%%%",
        severity="warning",
        raw_severity="P3",
        source="queue-01",
        group_key="0b9e8d7c6a5f4e3d2c1b0a9f8e7d6c5b",
        labels={"env": "prod", "queue": "orders", "team": "fulfilment"},
        links=[{"href": "https://app.datadoghq.com/event/event?id=8011223344556612345", "text": "Datadog"}],
        details=got.details,
        occurred_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    )
    assert got.details["priority"] == "low"
    assert len(got.details) == 14


def test_repeated_notifications_give_equal_events() -> None:
    body = fixture("datadog_triggered.json")

    assert parse(request(body)) == parse(request(dict(body)))


@pytest.mark.parametrize(
    ("fields", "dedup_key"),
    [
        ({"alert_cycle_key": "c", "aggregate": "g", "alert_id": "i"}, "c"),
        ({"alert_cycle_key": "", "aggregate": "g", "alert_id": "i"}, "g"),
        ({"alert_cycle_key": "$ALERT_CYCLE_KEY", "aggregate": "$AGGREG_KEY", "alert_id": "i"}, "i"),
        ({"alert_id": 183472651}, "183472651"),
    ],
)
def test_the_dedup_key_is_cycle_key_then_aggregate_then_alert_id(
    fields: dict[str, Any], dedup_key: str
) -> None:
    assert parse(request(fields)).dedup_key == dedup_key


@pytest.mark.parametrize(
    ("fields", "action"),
    [
        ({"alert_transition": "Recovered", "alert_type": "error"}, "resolve"),
        ({"alert_transition": "recovered"}, "resolve"),
        ({"alert_type": "success"}, "resolve"),
        ({"alert_transition": "Triggered", "alert_type": "error"}, "trigger"),
        ({"alert_transition": "Re-Triggered"}, "trigger"),
        ({"alert_transition": "No Data"}, "trigger"),
        ({"alert_transition": "Warn", "alert_type": "warning"}, "trigger"),
        ({}, "trigger"),
    ],
)
def test_recovered_or_success_resolves_and_everything_else_triggers(
    fields: dict[str, Any], action: str
) -> None:
    assert event(**fields).action == action


@pytest.mark.parametrize(
    ("fields", "severity", "raw"),
    [
        ({"alert_priority": "P1", "alert_type": "info"}, "critical", "P1"),
        ({"alert_priority": "P4"}, "info", "P4"),
        ({"alert_priority": "$ALERT_PRIORITY", "alert_type": "warning"}, "warning", "warning"),
        ({"alert_type": "error"}, "error", "error"),
        ({"alert_type": "info"}, "info", "info"),
        ({}, "error", None),
    ],
)
def test_severity_is_alert_priority_then_alert_type(
    fields: dict[str, Any], severity: str, raw: str | None
) -> None:
    got = event(**fields)

    assert (got.severity, got.raw_severity) == (severity, raw)


@pytest.mark.parametrize(
    ("tags", "labels"),
    [
        ("a:b,c", {"a": "b", "c": ""}),
        (" env:prod , role:web ,", {"env": "prod", "role": "web"}),
        ("url:https://x.example:8443/p", {"url": "https://x.example:8443/p"}),
        ("env:prod,env:staging,env:prod", {"env": "prod,staging"}),
        ("", {}),
    ],
)
def test_tags_become_labels(tags: str, labels: dict[str, str]) -> None:
    assert parse_tags(tags) == labels
    assert event(tags=tags).labels == labels


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("1772445480000", datetime(2026, 3, 2, 9, 58, tzinfo=UTC)),
        ("1772445480", datetime(2026, 3, 2, 9, 58, tzinfo=UTC)),
        ("2026-03-02T10:58:00+01:00", datetime(2026, 3, 2, 9, 58, tzinfo=UTC)),
        ("2026-03-02T09:58:00", datetime(2026, 3, 2, 9, 58, tzinfo=UTC)),
        ("$DATE", None),
    ],
)
def test_the_date_is_epoch_milliseconds_seconds_or_iso(date: str, expected: datetime | None) -> None:
    assert event(date=date).occurred_at == expected


def test_a_numeric_json_date_is_read_too() -> None:
    assert event(date=1772445480000).occurred_at == datetime(2026, 3, 2, 9, 58, tzinfo=UTC)


@pytest.mark.parametrize("date", ["yesterday", "99999999999999999999", "1772445480000.0"])
def test_an_unreadable_date_is_refused(date: str) -> None:
    with pytest.raises(ValueError):
        parse_date(date)
    assert problems({"alert_id": "1", "date": date}) == [
        Problem("date", "must be epoch milliseconds ($DATE) or an ISO 8601 time")
    ]


def test_without_any_dedup_key_the_event_is_refused() -> None:
    assert problems({"title": "x", "alert_cycle_key": "  "}) == [DEDUP_PROBLEM]


def test_every_problem_is_listed() -> None:
    body = urlencode({"title": "t", "date": "last tuesday"}).encode()

    assert problems(body, FORM) == [
        DEDUP_PROBLEM,
        Problem("date", "must be epoch milliseconds ($DATE) or an ISO 8601 time"),
    ]


def test_without_a_title_the_monitor_names_the_alert() -> None:
    assert event().title == "Datadog monitor 42"
    assert parse(request({"aggregate": "g"})).title == "Datadog monitor g"


def test_a_long_title_is_trimmed_and_kept_whole_in_details() -> None:
    got = event(title="t" * 2000)

    assert got.title == "t" * 1024
    assert got.details["title"] == "t" * 2000


def test_unknown_fields_survive_in_details() -> None:
    got = event(monitor_query="avg(last_5m):avg:system.cpu.user{*} > 90", extra={"k": [1, 2]})

    assert got.details["monitor_query"] == "avg(last_5m):avg:system.cpu.user{*} > 90"
    assert got.details["extra"] == {"k": [1, 2]}


def test_without_hostname_or_link_the_source_is_datadog_and_there_are_no_links() -> None:
    got = event(hostname="", link="$LINK")

    assert (got.source, got.links, got.group_key) == ("datadog", [], None)


@pytest.mark.parametrize(
    ("raw", "content_type", "message"),
    [
        (b"{oops", "application/json", "is not valid JSON"),
        (b"[]", "application/json", "must be a JSON object"),
        (b"title=\xff\xfe", FORM, "is not UTF-8"),
    ],
)
def test_an_unreadable_body_is_refused(raw: bytes, content_type: str, message: str) -> None:
    (problem,) = problems(raw, content_type)

    assert problem.field == "body"
    assert message in problem.message
