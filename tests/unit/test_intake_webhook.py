from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warroom.alerts.domain import SEVERITIES, AlertEventIn, IntakeRejected, Problem
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.webhook import compile_config, parse

FIXTURES = Path(__file__).parents[1] / "fixtures" / "intake"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CONFIG = {
    "title": "event.check.name",
    "dedup_key": "event.uuid",
    "severity": "event.level",
    "status": "event.state",
    "description": "event.message",
    "source": "event.location",
    "group_key": "event.check.id",
    "labels": "event.tags",
    "resolved_values": ["UP", "ok"],
    "acknowledged_values": ["ACKED"],
}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def request(body: dict[str, Any] | bytes, config: dict[str, Any] | None = None) -> IntakeRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return IntakeRequest(body=raw, content_type="application/json", now=NOW, integration_config=config or {})


def problems(body: dict[str, Any] | bytes, config: dict[str, Any] | None = None) -> list[Problem]:
    with pytest.raises(IntakeRejected) as caught:
        parse(request(body, config))
    return caught.value.problems


def test_a_configured_webhook_maps_every_field() -> None:
    body = fixture("webhook_generic.json")

    assert parse(request(body, CONFIG)) == AlertEventIn(
        action="trigger",
        dedup_key="evt-5521",
        title="HTTPS probe shop.example.net",
        description="Probe from fra-1 and ams-2 timed out after 10s.",
        severity="error",
        raw_severity="high",
        source="fra-1",
        group_key="chk-91",
        labels={"env": "prod", "region": "eu", "attempts": "3"},
        links=[],
        details=body,
    )


def test_the_default_config_reads_same_named_top_level_fields() -> None:
    body = {
        "title": "Backup failed",
        "id": 42,
        "status": "resolved",
        "severity": "warn",
        "description": "d",
        "source": "s",
        "group": "g",
    }

    assert parse(request(body)) == AlertEventIn(
        action="resolve",
        dedup_key="42",
        title="Backup failed",
        description="d",
        severity="warning",
        raw_severity="warn",
        source="s",
        details=body,
    )


def test_null_config_values_take_the_defaults() -> None:
    config = {"title": None, "dedup_key": None, "resolved_values": None}

    got = parse(request({"title": "t", "id": "x", "status": "OK"}, config))

    assert (got.title, got.dedup_key, got.action) == ("t", "x", "resolve")


def test_repeated_requests_give_equal_events() -> None:
    body = fixture("webhook_generic.json")

    assert parse(request(body, CONFIG)) == parse(request(dict(body), CONFIG))


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("UP", "resolve"),
        ("up", "resolve"),
        (" Ok ", "resolve"),
        ("ACKED", "acknowledge"),
        ("acked", "acknowledge"),
        ("DOWN", "trigger"),
        ("", "trigger"),
        (None, "trigger"),
        (3, "trigger"),
    ],
)
def test_status_values_choose_the_action(state: Any, action: str) -> None:
    body = fixture("webhook_generic.json")
    body["event"]["state"] = state

    assert parse(request(body, CONFIG)).action == action


def test_a_status_expression_that_finds_nothing_triggers() -> None:
    assert parse(request({"title": "t", "status": "resolved"}, {"status": "nothing"})).action == "trigger"


@pytest.mark.parametrize(
    ("dedup", "expected"), [(None, None), ("", None), ("  ", None), (7, "7"), ("k", "k")]
)
def test_a_missing_dedup_key_is_left_to_the_caller(dedup: Any, expected: str | None) -> None:
    assert parse(request({"title": "t", "id": dedup})).dedup_key == expected


def test_non_string_results_become_json_text() -> None:
    config = {"title": "t", "description": "d", "severity": "s", "labels": "l"}
    body = {"t": ["disk", "full"], "d": {"b": 1, "a": 2}, "s": 2, "l": {"x": None, "y": True, "z": [1]}}

    got = parse(request(body, config))

    assert (got.title, got.description, got.raw_severity) == ('["disk","full"]', '{"a":2,"b":1}', "2")
    assert got.labels == {"y": "true", "z": "[1]"}


def test_a_long_title_is_trimmed_and_kept_whole_in_details() -> None:
    got = parse(request({"title": "t" * 1500}))

    assert got.title == "t" * 1024
    assert got.details["title"] == "t" * 1500


@given(st.one_of(st.none(), st.text(), st.integers(), st.booleans()))
def test_any_severity_result_normalises_without_raising(value: Any) -> None:
    got = parse(request({"title": "t", "sev": value}, {"severity": "sev"}))

    assert got.severity in SEVERITIES


def test_a_missing_title_is_refused() -> None:
    assert problems({"name": "x"}) == [Problem("title", "expression 'title' found no title in the body")]


def test_every_problem_is_listed() -> None:
    config = {"title": "event.name", "labels": "event.tags", "group_key": "length(event.n)"}
    body = {"event": {"name": "  ", "tags": ["a"], "n": 5}}

    found = problems(body, config)

    assert [p.field for p in found] == ["group_key", "title", "labels"]
    assert found[0].message.startswith("expression 'length(event.n)' failed on this body: ")
    assert found[1:] == [
        Problem("title", "expression 'event.name' found no title in the body"),
        Problem("labels", "expression 'event.tags' must give an object"),
    ]


def test_a_title_expression_that_fails_is_reported_once() -> None:
    found = problems({"t": 5}, {"title": "length(t)"})

    assert [p.field for p in found] == ["title"]
    assert "failed on this body" in found[0].message


@pytest.mark.parametrize(
    ("raw", "message"), [(b"<xml/>", "is not valid JSON"), (b"[1]", "must be a JSON object")]
)
def test_a_body_that_is_not_a_json_object_is_refused(raw: bytes, message: str) -> None:
    (problem,) = problems(raw)

    assert problem.field == "body"
    assert message in problem.message


def test_compile_config_accepts_the_documented_keys() -> None:
    compiled = compile_config(CONFIG)

    assert set(compiled.expressions) == {
        "title", "dedup_key", "severity", "status", "description", "source", "group_key", "labels",
    }  # fmt: skip
    assert compiled.resolved_values == frozenset({"up", "ok"})
    assert compiled.acknowledged_values == frozenset({"acked"})


def test_compile_config_defaults() -> None:
    compiled = compile_config({})

    assert {key: e.expression for key, e in compiled.expressions.items()} == {
        "title": "title",
        "dedup_key": "id",
        "status": "status",
        "severity": "severity",
        "description": "description",
        "source": "source",
    }
    assert compiled.resolved_values == frozenset({"resolved", "ok"})
    assert compiled.acknowledged_values == frozenset({"acknowledged"})


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"title": "event.[name"}, "title: invalid JMESPath expression 'event.[name': "),
        ({"severity": ""}, "severity: invalid JMESPath expression '': "),
        ({"status": "a ||"}, "status: invalid JMESPath expression 'a ||': "),
        ({"source": 5}, "source: must be a JMESPath expression (a string)"),
        ({"resolved_values": "resolved"}, "resolved_values: must be a list of strings"),
        ({"acknowledged_values": ["ack", 1]}, "acknowledged_values: must be a list of strings"),
        ({"titel": "title"}, "unknown key(s) 'titel'; allowed: title, dedup_key, severity"),
    ],
)
def test_compile_config_names_the_bad_key(config: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        compile_config(config)

    assert fragment in str(caught.value)


def test_compile_config_names_every_bad_key_with_jmespath_errors() -> None:
    with pytest.raises(ValueError) as caught:
        compile_config({"title": "foo[", "labels": "bar]", "priority": "x"})

    message = str(caught.value)
    assert message.startswith("unknown key(s) 'priority'")
    assert "title: invalid JMESPath expression 'foo[': " in message
    assert "labels: invalid JMESPath expression 'bar]': " in message
    assert "Expecting" in message or "Unexpected" in message or "Invalid" in message


def test_a_stored_config_that_no_longer_compiles_is_the_integrations_fault() -> None:
    with pytest.raises(ValueError, match="title: invalid JMESPath expression"):
        parse(request({"title": "t"}, {"title": "[["}))
