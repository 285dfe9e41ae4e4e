from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from warroom.alerts.domain import AlertEventIn, IntakeRejected, Problem
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.pagerduty import ChangeEventIn, parse_change, parse_event, routing_key

FIXTURES = Path(__file__).parents[1] / "fixtures" / "intake"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KEY = "0123456789abcdef0123456789abcdef"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def request(body: dict[str, Any] | bytes) -> IntakeRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return IntakeRequest(body=raw, content_type="application/json", now=NOW)


def rejected(body: dict[str, Any] | bytes, *, change: bool = False) -> list[Problem]:
    with pytest.raises(IntakeRejected) as caught:
        (parse_change if change else parse_event)(request(body))
    return caught.value.problems


def trigger(**payload: Any) -> dict[str, Any]:
    base = {"summary": "Something broke", "source": "host-1", "severity": "error"}
    return {"routing_key": KEY, "event_action": "trigger", "payload": {**base, **payload}}


def test_a_documented_trigger_maps_every_field() -> None:
    event = parse_event(request(fixture("pagerduty_trigger.json")))

    assert event == AlertEventIn(
        action="trigger",
        dedup_key="disk-full/db-07",
        title="Disk /var/lib/postgresql is 97% full on db-07.prod.example.net",
        description="",
        severity="critical",
        raw_severity="critical",
        source="db-07.prod.example.net",
        group_key="checkout-db",
        labels={"component": "postgres", "group": "checkout-db", "class": "disk usage"},
        links=[
            {"href": "https://wiki.example.net/runbooks/disk-full", "text": "Disk full runbook"},
            {"href": "https://monitoring.example.net/hosts/db-07", "text": "Example Monitoring"},
        ],
        details={
            "custom_details": {
                "mount": "/var/lib/postgresql",
                "used percent": 97.2,
                "free bytes": 3221225472,
            },
            "images": [
                {
                    "src": "https://grafana.example.net/render/disk-db-07.png",
                    "href": "https://grafana.example.net/d/disk",
                    "alt": "Disk usage on db-07",
                }
            ],
            "client": "Example Monitoring",
            "client_url": "https://monitoring.example.net/hosts/db-07",
        },
        occurred_at=datetime(2026, 3, 2, 9, 58, 12, 500000, tzinfo=UTC),
        note=None,
        actor=None,
    )


def test_a_trigger_without_dedup_key_leaves_it_to_the_caller() -> None:
    event = parse_event(request(fixture("pagerduty_trigger_minimal.json")))

    assert event == AlertEventIn(
        action="trigger",
        dedup_key=None,
        title="Nightly backup job did not report",
        severity="warning",
        raw_severity="warning",
        source="backup-runner-2",
    )


def test_a_blank_dedup_key_on_a_trigger_counts_as_none() -> None:
    assert parse_event(request({**trigger(), "dedup_key": "  "})).dedup_key is None


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_carry_the_dedup_key(action: str) -> None:
    event = parse_event(request(fixture(f"pagerduty_{action}.json")))

    assert event == AlertEventIn(action=action, dedup_key="disk-full/db-07")  # type: ignore[arg-type]


def test_acknowledge_ignores_payload_and_links_but_keeps_them() -> None:
    body = {**fixture("pagerduty_resolve.json"), "payload": {"summary": ""}, "links": "not a list"}

    event = parse_event(request(body))

    assert event.action == "resolve"
    assert event.details == {"payload": {"summary": ""}, "links": "not a list"}
    assert event.links == []


def test_parsing_is_pure_the_same_body_gives_the_same_event() -> None:
    body = fixture("pagerduty_trigger.json")

    assert parse_event(request(body)) == parse_event(request(body))


@pytest.mark.parametrize("severity", ["critical", "error", "warning", "info"])
def test_each_pagerduty_severity_maps_to_itself(severity: str) -> None:
    event = parse_event(request(trigger(severity=severity)))

    assert (event.severity, event.raw_severity) == (severity, severity)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-03-02T09:00:00Z", datetime(2026, 3, 2, 9, tzinfo=UTC)),
        ("2026-03-02T11:00:00+02:00", datetime(2026, 3, 2, 9, tzinfo=UTC)),
        ("2026-03-02T09:00:00", datetime(2026, 3, 2, 9, tzinfo=UTC)),
    ],
)
def test_timestamps_are_iso_8601_and_naive_ones_are_utc(stamp: str, expected: datetime) -> None:
    occurred = parse_event(request(trigger(timestamp=stamp))).occurred_at

    assert occurred == expected
    assert occurred is not None and occurred.utcoffset() is not None


def test_unknown_fields_survive_in_details() -> None:
    body = {**trigger(region="eu-1", custom_details="plain text"), "x_vendor": {"id": 7}}

    event = parse_event(request(body))

    assert event.details == {
        "custom_details": "plain text",
        "x_vendor": {"id": 7},
        "payload": {"region": "eu-1"},
    }
    assert "routing_key" not in json.dumps(event.details)


def test_a_link_without_text_uses_its_href_and_a_client_url_without_client_says_client() -> None:
    body = {**trigger(), "links": [{"href": "https://x.example/1"}], "client_url": "https://c.example"}

    assert parse_event(request(body)).links == [
        {"href": "https://x.example/1", "text": "https://x.example/1"},
        {"href": "https://c.example", "text": "client"},
    ]


def test_a_summary_of_exactly_1024_characters_is_accepted() -> None:
    assert parse_event(request(trigger(summary="s" * 1024))).title == "s" * 1024


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"routing_key": KEY}, Problem("event_action", "'event_action' is missing or blank")),
        (
            {"routing_key": KEY, "event_action": "snooze", "dedup_key": "k"},
            Problem(
                "event_action", "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)"
            ),
        ),
        (
            {"routing_key": KEY, "event_action": "acknowledge"},
            Problem("dedup_key", "'dedup_key' is missing or blank"),
        ),
        (
            {"routing_key": KEY, "event_action": "resolve", "dedup_key": " "},
            Problem("dedup_key", "'dedup_key' is missing or blank"),
        ),
        (
            {"routing_key": KEY, "event_action": "resolve", "dedup_key": 12},
            Problem("dedup_key", "'dedup_key' must be a string"),
        ),
        (
            {"routing_key": KEY, "event_action": "resolve", "dedup_key": "k" * 256},
            Problem("dedup_key", "Length of 'dedup_key' is too long (maximum 255 characters)"),
        ),
        (
            {"event_action": "resolve", "dedup_key": "k"},
            Problem("routing_key", "'routing_key' is missing or blank"),
        ),
        (
            {"routing_key": KEY, "event_action": "trigger"},
            Problem("payload", "'payload' is missing or blank"),
        ),
        (
            {"routing_key": KEY, "event_action": "trigger", "payload": ["x"]},
            Problem("payload", "'payload' must be an object"),
        ),
        (trigger(summary=None), Problem("payload.summary", "'payload.summary' is missing or blank")),
        (trigger(summary="   "), Problem("payload.summary", "'payload.summary' is missing or blank")),
        (
            trigger(summary="s" * 1025),
            Problem("payload.summary", "Length of 'payload.summary' is too long (maximum 1024 characters)"),
        ),
        (trigger(source=""), Problem("payload.source", "'payload.source' is missing or blank")),
        (trigger(severity=None), Problem("payload.severity", "'payload.severity' is missing or blank")),
        (
            trigger(severity="fatal"),
            Problem(
                "payload.severity",
                "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
            ),
        ),
        (
            trigger(timestamp="yesterday"),
            Problem("payload.timestamp", "'payload.timestamp' is not a valid ISO 8601 timestamp"),
        ),
        (
            trigger(timestamp=1700000000),
            Problem("payload.timestamp", "'payload.timestamp' is not a valid ISO 8601 timestamp"),
        ),
        (trigger(component=["db"]), Problem("payload.component", "'payload.component' must be a string")),
        ({**trigger(), "links": {"href": "x"}}, Problem("links", "'links' must be an array")),
        ({**trigger(), "links": ["https://x"]}, Problem("links[0]", "'links[0]' must be an object")),
        (
            {**trigger(), "links": [{"text": "t"}]},
            Problem("links[0].href", "'links[0].href' is missing or blank"),
        ),
    ],
)
def test_each_invalid_event_is_refused_in_pagerduty_words(body: dict[str, Any], expected: Problem) -> None:
    assert rejected(body) == [expected]


def test_every_problem_of_a_request_is_listed() -> None:
    body = {
        "event_action": "trigger",
        "dedup_key": "k" * 300,
        "links": [{"href": ""}],
        "payload": {"summary": "", "severity": "sev1", "timestamp": "soon", "group": 5},
    }

    assert rejected(body) == [
        Problem("routing_key", "'routing_key' is missing or blank"),
        Problem("dedup_key", "Length of 'dedup_key' is too long (maximum 255 characters)"),
        Problem("links[0].href", "'links[0].href' is missing or blank"),
        Problem("payload.summary", "'payload.summary' is missing or blank"),
        Problem("payload.source", "'payload.source' is missing or blank"),
        Problem(
            "payload.severity",
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
        ),
        Problem("payload.group", "'payload.group' must be a string"),
        Problem("payload.timestamp", "'payload.timestamp' is not a valid ISO 8601 timestamp"),
    ]


@pytest.mark.parametrize(
    ("raw", "message"), [(b"{not json", "is not valid JSON"), (b"[1, 2]", "must be a JSON object")]
)
def test_a_body_that_is_not_a_json_object_is_refused(raw: bytes, message: str) -> None:
    (problem,) = rejected(raw)

    assert problem.field == "body"
    assert message in problem.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"routing_key": KEY}, KEY),
        ({"routing_key": f"  {KEY} "}, KEY),
        ({"routing_key": ""}, None),
        ({"routing_key": 1234}, None),
        ({}, None),
    ],
)
def test_routing_key_is_the_non_blank_string_or_none(body: dict[str, Any], expected: str | None) -> None:
    assert routing_key(body) == expected


def test_a_documented_change_event_maps_every_field() -> None:
    change = parse_change(request(fixture("pagerduty_change.json")))

    assert change == ChangeEventIn(
        summary="Deployed checkout-api 4.12.0: raise connection pool to 40",
        source="ci-runner-pool-b",
        timestamp=datetime(2026, 3, 2, 9, 40, tzinfo=UTC),
        links=[{"href": "https://ci.example.net/builds/1187", "text": "Build 1187"}],
        custom_details={"build_state": "passed", "build_number": "1187", "run_time": "412s"},
        details={},
    )


def test_a_change_event_needs_only_a_summary_and_keeps_unknown_fields() -> None:
    body = {"routing_key": KEY, "payload": {"summary": "Rotated a secret", "team": "sec"}, "vendor": 1}

    change = parse_change(request(body))

    assert change == ChangeEventIn(
        summary="Rotated a secret",
        source="",
        timestamp=None,
        details={"vendor": 1, "payload": {"team": "sec"}},
    )


def test_a_change_event_keeps_the_timestamp_offset() -> None:
    body = {"routing_key": KEY, "payload": {"summary": "x", "timestamp": "2026-03-02T12:00:00+02:00"}}

    stamp = parse_change(request(body)).timestamp

    assert stamp == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert stamp is not None and stamp.utcoffset() == timedelta(hours=2)
    assert stamp.tzinfo == timezone(timedelta(hours=2))


def test_an_invalid_change_event_lists_every_problem() -> None:
    body = {"payload": {"summary": "x" * 1025, "source": 3, "timestamp": "later"}, "links": [{}]}

    assert rejected(body, change=True) == [
        Problem("routing_key", "'routing_key' is missing or blank"),
        Problem("links[0].href", "'links[0].href' is missing or blank"),
        Problem("payload.summary", "Length of 'payload.summary' is too long (maximum 1024 characters)"),
        Problem("payload.source", "'payload.source' must be a string"),
        Problem("payload.timestamp", "'payload.timestamp' is not a valid ISO 8601 timestamp"),
    ]


def test_a_change_event_without_payload_is_refused() -> None:
    assert rejected({"routing_key": KEY}, change=True) == [
        Problem("payload", "'payload' is missing or blank")
    ]
