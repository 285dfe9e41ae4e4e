from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from warroom.alerts.domain import AlertEventIn, IntakeRejected, Problem
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.newrelic import epoch_millis, parse

FIXTURES = Path(__file__).parents[1] / "fixtures" / "intake"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ISSUE = "3f0c9a52-6d1e-4b8f-a7c2-91e5d04b6a13"
STATE_PROBLEM = Problem("state", "must be one of ACTIVATED, CREATED, ACKNOWLEDGED, CLOSED")


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def request(body: dict[str, Any] | bytes) -> IntakeRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return IntakeRequest(body=raw, content_type="application/json", now=NOW)


def event(**fields: Any) -> AlertEventIn:
    return parse(request({"id": "issue-1", "state": "ACTIVATED", **fields}))


def problems(body: dict[str, Any] | bytes) -> list[Problem]:
    with pytest.raises(IntakeRejected) as caught:
        parse(request(body))
    return caught.value.problems


def test_an_activated_issue_maps_every_field() -> None:
    body = fixture("newrelic_activated.json")

    assert parse(request(body)) == AlertEventIn(
        action="trigger",
        dedup_key=ISSUE,
        title="orders-api query result is > 5.0 for 5 minutes on 'Orders API error rate'",
        description="",
        severity="critical",
        raw_severity="CRITICAL",
        source="orders-api",
        group_key="Orders on-call",
        labels={
            "impactedEntities": "orders-api,orders-worker",
            "alertPolicyNames": "Orders golden signals",
            "alertConditionNames": "Orders API error rate,Orders worker backlog",
            "sources": "newrelic",
        },
        links=[{"href": body["issueUrl"], "text": "New Relic issue"}],
        details=body,
        occurred_at=datetime(2026, 3, 2, 9, 21, 30, tzinfo=UTC),
        note=None,
        actor=None,
    )


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("newrelic_activated.json", "trigger"),
        ("newrelic_acknowledged.json", "acknowledge"),
        ("newrelic_closed.json", "resolve"),
    ],
)
def test_the_issue_lifecycle_acts_on_one_dedup_key(name: str, action: str) -> None:
    got = parse(request(fixture(name)))

    assert (got.action, got.dedup_key) == (action, ISSUE)


def test_a_created_issue_triggers() -> None:
    assert event(state="CREATED").action == "trigger"


def test_repeated_notifications_give_equal_events() -> None:
    body = fixture("newrelic_activated.json")

    assert parse(request(body)) == parse(request(dict(body)))


@pytest.mark.parametrize(
    ("priority", "severity"),
    [
        ("CRITICAL", "critical"),
        ("HIGH", "error"),
        ("MEDIUM", "warning"),
        ("LOW", "info"),
        ("URGENT", "error"),
    ],
)
def test_priorities_map_to_severities(priority: str, severity: str) -> None:
    got = event(priority=priority)

    assert (got.severity, got.raw_severity) == (severity, priority)


def test_issue_id_wins_over_id_and_numbers_are_text() -> None:
    assert event(issueId="from-custom-template").dedup_key == "from-custom-template"
    assert parse(request({"id": 77, "state": "CLOSED"})).dedup_key == "77"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("High CPU", "High CPU"),
        (["High CPU", " ", "on web-1"], "High CPU; on web-1"),
        (None, "New Relic issue issue-1"),
        ([], "New Relic issue issue-1"),
    ],
)
def test_the_title_is_a_string_or_a_joined_list(title: Any, expected: str) -> None:
    assert event(title=title).title == expected


def test_a_long_title_is_trimmed_and_kept_whole_in_details() -> None:
    got = event(title="t" * 1100)

    assert got.title == "t" * 1024
    assert got.details["title"] == "t" * 1100


def test_fallbacks_without_workflow_entities_or_url() -> None:
    got = event(alertPolicyNames=["Policy A", "Policy B"], impactedEntities=[], issueUrl="")

    assert (got.group_key, got.source, got.links) == ("Policy A", "newrelic", [])
    assert got.labels == {"alertPolicyNames": "Policy A,Policy B"}


def test_custom_template_fields_map_and_survive() -> None:
    accumulations = {"tag.team": ["orders"], "conditionName": ["Orders API error rate"]}

    got = event(
        state="ACKNOWLEDGED",
        acknowledgedBy="kim@example.net",
        description="Error rate above 5%",
        accumulations=accumulations,
        impactedEntities="orders-api",
        sources=[{"not": "simple"}],
    )

    assert (got.action, got.actor, got.description) == (
        "acknowledge",
        "kim@example.net",
        "Error rate above 5%",
    )
    assert got.labels == {"impactedEntities": "orders-api"}
    assert got.details["accumulations"] == accumulations
    assert got.details["sources"] == [{"not": "simple"}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1772443290000, datetime(2026, 3, 2, 9, 21, 30, tzinfo=UTC)),
        ("1772443290000", datetime(2026, 3, 2, 9, 21, 30, tzinfo=UTC)),
        (1772443290000.0, datetime(2026, 3, 2, 9, 21, 30, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_created_at_is_epoch_milliseconds(value: Any, expected: datetime | None) -> None:
    assert epoch_millis(value) == expected
    assert event(createdAt=value).occurred_at == expected


@pytest.mark.parametrize("value", ["2026-03-02T09:21:30Z", True, [1], 10**20])
def test_an_unreadable_created_at_is_refused(value: Any) -> None:
    assert problems({"id": "i", "state": "CLOSED", "createdAt": value}) == [
        Problem("createdAt", "must be epoch milliseconds")
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"state": "ACTIVATED"}, Problem("issueId", "is missing: send the issue id as `issueId` or `id`")),
        (
            {"id": " ", "state": "ACTIVATED"},
            Problem("issueId", "is missing: send the issue id as `issueId` or `id`"),
        ),
        ({"id": "i"}, STATE_PROBLEM),
        ({"id": "i", "state": "RESOLVED"}, STATE_PROBLEM),
        ({"id": "i", "state": "activated"}, STATE_PROBLEM),
        ({"id": "i", "state": ["CLOSED"]}, STATE_PROBLEM),
    ],
)
def test_each_invalid_notification_is_refused(body: dict[str, Any], expected: Problem) -> None:
    assert problems(body) == [expected]


def test_every_problem_is_listed() -> None:
    assert problems({"state": "MUTED", "createdAt": "noon"}) == [
        Problem("issueId", "is missing: send the issue id as `issueId` or `id`"),
        STATE_PROBLEM,
        Problem("createdAt", "must be epoch milliseconds"),
    ]


@pytest.mark.parametrize(
    ("raw", "message"), [(b"id=1", "is not valid JSON"), (b"null", "must be a JSON object")]
)
def test_a_body_that_is_not_a_json_object_is_refused(raw: bytes, message: str) -> None:
    (problem,) = problems(raw)

    assert problem.field == "body"
    assert message in problem.message
