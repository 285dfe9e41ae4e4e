from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest

from warroom.alerts.domain import AlertEventIn, IntakeRejected, Problem
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.opsgenie import identifier_type, parse_action, parse_create

FIXTURES = Path(__file__).parents[1] / "fixtures" / "intake"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OpsAction = Literal["acknowledge", "unacknowledge", "close", "notes"]


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def request(body: dict[str, Any] | bytes) -> IntakeRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return IntakeRequest(body=raw, content_type="application/json", now=NOW)


def create_problems(body: dict[str, Any] | bytes) -> list[Problem]:
    with pytest.raises(IntakeRejected) as caught:
        parse_create(request(body))
    return caught.value.problems


def test_a_documented_create_maps_every_field() -> None:
    event = parse_create(request(fixture("opsgenie_create.json")))

    assert event == AlertEventIn(
        action="trigger",
        dedup_key="payments-latency-p99",
        title="Payment gateway latency above 2s",
        description="p99 latency of POST /charge has been above 2 seconds for 10 minutes.",
        severity="error",
        raw_severity="P2",
        source="synthetics",
        group_key=None,
        labels={"tags": "payments,latency,prod", "entity": "payment-gateway"},
        links=[],
        details={
            "responders": [
                {"id": "4513b7ea-3b91-438f-b7e4-e3e54af9147c", "type": "team"},
                {"name": "Payments Escalation", "type": "escalation"},
                {"username": "oncall@example.net", "type": "user"},
            ],
            "visibleTo": [{"name": "sre", "type": "team"}],
            "actions": ["Restart", "Failover"],
            "tags": ["payments", "latency", "prod"],
            "details": {"region": "eu-west-1", "p99_ms": "2310"},
            "entity": "payment-gateway",
        },
        occurred_at=None,
        note="Opened by the latency SLO burn alert",
        actor="monitor@example.net",
    )


def test_a_create_with_only_a_message_defaults_to_p3_and_no_alias() -> None:
    event = parse_create(request(fixture("opsgenie_create_minimal.json")))

    assert event == AlertEventIn(
        action="trigger",
        dedup_key=None,
        title="Certificate for api.example.net expires in 7 days",
        severity="warning",
        raw_severity="P3",
    )


def test_a_null_priority_is_the_default() -> None:
    assert parse_create(request({"message": "m", "priority": None})).raw_severity == "P3"


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("P1", "critical"), ("P2", "error"), ("P3", "warning"), ("P4", "info"), ("P5", "info")],
)
def test_priorities_map_to_severities(priority: str, severity: str) -> None:
    event = parse_create(request({"message": "m", "priority": priority}))

    assert (event.severity, event.raw_severity) == (severity, priority)


def test_the_same_alias_twice_gives_the_same_dedup_key() -> None:
    body = {"message": "Disk full", "alias": "disk-full-db-07"}

    first, second = parse_create(request(body)), parse_create(request(body))

    assert first == second
    assert first.dedup_key == "disk-full-db-07"


def test_unknown_fields_survive_in_details() -> None:
    event = parse_create(request({"message": "m", "extra": {"a": 1}, "customerId": 42}))

    assert event.details == {"extra": {"a": 1}, "customerId": 42}


def test_limits_are_inclusive() -> None:
    body = {"message": "m" * 130, "alias": "a" * 512, "description": "d" * 15000, "source": "s" * 100}

    event = parse_create(request(body))

    assert (len(event.title), len(event.dedup_key or ""), len(event.description)) == (130, 512, 15000)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, Problem("message", "Message can not be empty.")),
        ({"message": "   "}, Problem("message", "Message can not be empty.")),
        ({"message": 5}, Problem("message", "Message should be a string.")),
        ({"message": "m" * 131}, Problem("message", "Message can not be longer than 130 characters.")),
        (
            {"message": "m", "alias": "a" * 513},
            Problem("alias", "Alias can not be longer than 512 characters."),
        ),
        (
            {"message": "m", "description": "d" * 15001},
            Problem("description", "Description can not be longer than 15000 characters."),
        ),
        (
            {"message": "m", "entity": "e" * 513},
            Problem("entity", "Entity can not be longer than 512 characters."),
        ),
        (
            {"message": "m", "source": "s" * 101},
            Problem("source", "Source can not be longer than 100 characters."),
        ),
        ({"message": "m", "user": "u" * 101}, Problem("user", "User can not be longer than 100 characters.")),
        (
            {"message": "m", "note": "n" * 25001},
            Problem("note", "Note can not be longer than 25000 characters."),
        ),
        (
            {"message": "m", "priority": "P6"},
            Problem("priority", "Priority should be one of P1, P2, P3, P4, P5."),
        ),
        (
            {"message": "m", "priority": "high"},
            Problem("priority", "Priority should be one of P1, P2, P3, P4, P5."),
        ),
        ({"message": "m", "tags": "a,b"}, Problem("tags", "Tags should be a list of strings.")),
        ({"message": "m", "tags": ["a", 1]}, Problem("tags", "Tags should be a list of strings.")),
        ({"message": "m", "actions": [{}]}, Problem("actions", "Actions should be a list of strings.")),
        (
            {"message": "m", "responders": ["team-a"]},
            Problem("responders", "Responders should be a list of objects."),
        ),
        ({"message": "m", "visibleTo": {}}, Problem("visibleTo", "VisibleTo should be a list of objects.")),
        (
            {"message": "m", "details": ["a"]},
            Problem("details", "Details should be an object of keys to values."),
        ),
    ],
)
def test_each_invalid_create_is_refused(body: dict[str, Any], expected: Problem) -> None:
    assert create_problems(body) == [expected]


def test_every_problem_of_a_create_is_listed() -> None:
    body = {"alias": "a" * 600, "priority": "urgent", "tags": "x", "details": "y", "user": 7}

    assert create_problems(body) == [
        Problem("message", "Message can not be empty."),
        Problem("alias", "Alias can not be longer than 512 characters."),
        Problem("user", "User should be a string."),
        Problem("priority", "Priority should be one of P1, P2, P3, P4, P5."),
        Problem("tags", "Tags should be a list of strings."),
        Problem("details", "Details should be an object of keys to values."),
    ]


@pytest.mark.parametrize(
    ("raw", "message"), [(b"message=hi", "is not valid JSON"), (b'"hi"', "must be a JSON object")]
)
def test_a_create_body_that_is_not_a_json_object_is_refused(raw: bytes, message: str) -> None:
    (problem,) = create_problems(raw)

    assert problem.field == "body"
    assert message in problem.message


@pytest.mark.parametrize(
    ("action", "name", "expected"),
    [
        ("acknowledge", "opsgenie_acknowledge.json", "acknowledge"),
        ("unacknowledge", "opsgenie_acknowledge.json", "unacknowledge"),
        ("close", "opsgenie_close.json", "resolve"),
        ("notes", "opsgenie_note.json", "note"),
    ],
)
def test_actions_map_user_source_and_note(action: OpsAction, name: str, expected: str) -> None:
    body = fixture(name)

    event = parse_action(request(body), action)

    assert event == AlertEventIn(
        action=expected,  # type: ignore[arg-type]
        dedup_key=None,
        source=body["source"],
        note=body["note"],
        actor=body["user"],
    )


@pytest.mark.parametrize("raw", [b"", b"  \n"])
def test_an_action_body_is_optional(raw: bytes) -> None:
    assert parse_action(request(raw), "close") == AlertEventIn(action="resolve", dedup_key=None)


def test_an_action_keeps_unknown_body_fields() -> None:
    event = parse_action(request({"user": "u", "requestedBy": "bot"}), "acknowledge")

    assert event.details == {"requestedBy": "bot"}


def test_add_note_needs_a_note() -> None:
    with pytest.raises(IntakeRejected) as caught:
        parse_action(request({"user": "u", "note": " "}), "notes")

    assert caught.value.problems == [Problem("note", "Note can not be empty.")]


def test_every_problem_of_an_action_is_listed() -> None:
    with pytest.raises(IntakeRejected) as caught:
        parse_action(request({"user": "u" * 101, "source": ["x"]}), "notes")

    assert caught.value.problems == [
        Problem("note", "Note can not be empty."),
        Problem("user", "User can not be longer than 100 characters."),
        Problem("source", "Source should be a string."),
    ]


def test_an_action_body_that_is_not_a_json_object_is_refused() -> None:
    with pytest.raises(IntakeRejected) as caught:
        parse_action(request(b"[]"), "acknowledge")

    assert caught.value.problems == [Problem("body", "must be a JSON object")]


def test_an_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="snooze"):
        parse_action(request(b""), "snooze")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [(None, "id"), ("", "id"), ("id", "id"), ("alias", "alias"), ("tiny", "tiny"), (" Alias ", "alias")],
)
def test_identifier_type_defaults_to_id(query: str | None, expected: str) -> None:
    assert identifier_type(query) == expected


def test_an_unknown_identifier_type_is_refused() -> None:
    with pytest.raises(IntakeRejected) as caught:
        identifier_type("name")

    assert caught.value.problems == [
        Problem("identifierType", "Invalid identifierType [name]. Possible values are id, alias, tiny.")
    ]
