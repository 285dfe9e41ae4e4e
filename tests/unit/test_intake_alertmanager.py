from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warroom.alerts.domain import SEVERITIES, AlertEventIn, IntakeRejected, Problem, normalise_severity
from warroom.alerts.intake.alertmanager import fingerprint, is_resolved, parse
from warroom.alerts.intake.base import IntakeRequest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "intake"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
GROUP_KEY = '{}/{team="storage"}:{alertname="VolumeFillingUp"}'


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def request(body: dict[str, Any] | bytes, now: datetime = NOW) -> IntakeRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return IntakeRequest(body=raw, content_type="application/json", now=now)


def group(*alerts: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"version": "4", "status": "firing", "receiver": "warroom", "alerts": list(alerts), **top}


def alert(**fields: Any) -> dict[str, Any]:
    return {"status": "firing", "labels": {"alertname": "Probe"}, **fields}


def one(body: dict[str, Any], now: datetime = NOW) -> AlertEventIn:
    (event,) = parse(request(body, now))
    return event


def problems(body: dict[str, Any] | bytes) -> list[Problem]:
    with pytest.raises(IntakeRejected) as caught:
        parse(request(body))
    return caught.value.problems


GROUP_DETAILS = {
    "version": "4",
    "groupKey": GROUP_KEY,
    "truncatedAlerts": 0,
    "receiver": "warroom",
    "groupLabels": {"alertname": "VolumeFillingUp"},
    "commonLabels": {"alertname": "VolumeFillingUp", "team": "storage"},
    "commonAnnotations": {"runbook_url": "https://runbooks.example.net/volume-filling-up"},
    "externalURL": "http://alertmanager.example.net:9093",
}


def test_a_documented_notification_gives_one_event_per_alert_with_every_field() -> None:
    body = fixture("alertmanager_firing.json")
    first_alert, second_alert = body["alerts"]

    first, second = parse(request(body))

    assert first == AlertEventIn(
        action="trigger",
        dedup_key="5f1d0c3a9be27e44",
        title="Volume /data on node-3 fills up within 4 hours",
        description="Free space on /data is 6% and falling by 1.5% per hour.",
        severity="critical",
        raw_severity="critical",
        source="node-3:9100",
        group_key=GROUP_KEY,
        labels=first_alert["labels"],
        links=[
            {"href": first_alert["generatorURL"], "text": "Source"},
            {"href": "https://runbooks.example.net/volume-filling-up", "text": "Runbook"},
        ],
        details={**GROUP_DETAILS, **{k: v for k, v in first_alert.items() if k != "labels"}},
        occurred_at=datetime(2026, 3, 2, 9, 41, 7, 123456, tzinfo=UTC),
    )
    assert second == AlertEventIn(
        action="trigger",
        dedup_key="a03e71b2c4d5f680",
        title="VolumeFillingUp",
        description="Free space on /logs is 18% and falling.",
        severity="warning",
        raw_severity="warning",
        source="node",
        group_key=GROUP_KEY,
        labels=second_alert["labels"],
        links=[{"href": second_alert["generatorURL"], "text": "Source"}],
        details={**GROUP_DETAILS, **{k: v for k, v in second_alert.items() if k != "labels"}},
        occurred_at=datetime(2026, 3, 2, 9, 45, tzinfo=UTC),
    )


def test_a_documented_resolved_notification_resolves_the_same_dedup_key() -> None:
    firing, _ = parse(request(fixture("alertmanager_firing.json")))

    resolved = one(fixture("alertmanager_resolved.json"))

    assert resolved.action == "resolve"
    assert resolved.dedup_key == firing.dedup_key
    assert resolved.details["endsAt"] == "2026-03-02T09:57:37.5Z"


def test_repeated_notifications_give_equal_events() -> None:
    body = fixture("alertmanager_firing.json")

    assert parse(request(body)) == parse(request(copy.deepcopy(body)))


@pytest.mark.parametrize(
    ("status", "ends_at", "action"),
    [
        ("firing", "0001-01-01T00:00:00Z", "trigger"),
        ("firing", None, "trigger"),
        ("firing", "", "trigger"),
        ("firing", (NOW + timedelta(minutes=5)).isoformat(), "trigger"),
        ("firing", (NOW - timedelta(seconds=1)).isoformat(), "resolve"),
        ("firing", NOW.isoformat(), "resolve"),
        ("firing", "2026-03-02T10:59:00+01:00", "resolve"),
        ("firing", "2026-03-02T11:01:00+01:00", "trigger"),
        ("resolved", "0001-01-01T00:00:00Z", "resolve"),
        ("resolved", (NOW + timedelta(hours=1)).isoformat(), "resolve"),
    ],
)
def test_resolve_detection_by_status_and_ends_at(status: str, ends_at: str | None, action: str) -> None:
    event = one(group(alert(status=status, endsAt=ends_at)))

    assert event.action == action
    assert is_resolved({"status": status, "endsAt": ends_at}, NOW) is (action == "resolve")


def test_the_fingerprint_falls_back_to_a_hash_of_the_labels() -> None:
    labels = {"alertname": "Probe", "instance": "a:1"}

    event = one(group(alert(labels=labels)))

    assert event.dedup_key == fingerprint(labels)
    assert len(event.dedup_key) == 64
    assert one(group(alert(labels=labels, fingerprint=""))).dedup_key == event.dedup_key


def test_the_fallback_fingerprint_survives_lone_surrogates_from_json() -> None:
    body = b'{"alerts": [{"labels": {"alertname": "\\ud800"}}]}'

    (event,) = parse(request(body))

    # The surrogate became U+FFFD before anything read it (warroom.inbound), so it hashes like one.
    assert event.dedup_key == fingerprint({"alertname": "\ufffd"})
    assert event.labels == {"alertname": "\ufffd"}


@given(st.dictionaries(st.text(min_size=1), st.text(), min_size=1, max_size=8), st.randoms())
def test_the_fallback_fingerprint_is_stable_under_label_order(labels: dict[str, str], rnd: Any) -> None:
    items = list(labels.items())
    rnd.shuffle(items)

    assert fingerprint(dict(items)) == fingerprint(labels)


@given(
    st.dictionaries(st.text(min_size=1), st.text(), min_size=1, max_size=5),
    st.dictionaries(st.text(min_size=1), st.text(), min_size=1, max_size=5),
)
def test_different_label_sets_get_different_fallback_fingerprints(
    a: dict[str, str], b: dict[str, str]
) -> None:
    assert (fingerprint(a) == fingerprint(b)) is (a == b)


@given(st.one_of(st.none(), st.text()))
def test_normalise_severity_never_raises_and_gives_a_known_level(raw: str | None) -> None:
    assert normalise_severity(raw) in SEVERITIES


@pytest.mark.parametrize(
    ("annotations", "labels", "title", "description"),
    [
        ({"summary": "S", "title": "T", "description": "D", "message": "M"}, {"alertname": "A"}, "S", "D"),
        ({"summary": " ", "title": "T", "message": "M"}, {"alertname": "A"}, "T", "M"),
        ({}, {"alertname": "A"}, "A", ""),
        ({}, {"job": "j"}, "alertmanager alert", ""),
        ("not an object", {"alertname": "A"}, "A", ""),
    ],
)
def test_title_and_description_fall_back_in_order(
    annotations: Any, labels: dict[str, str], title: str, description: str
) -> None:
    event = one(group(alert(labels=labels, annotations=annotations)))

    assert (event.title, event.description) == (title, description)


def test_a_long_summary_is_trimmed_in_the_title_and_kept_whole_in_details() -> None:
    summary = "x" * 1500

    event = one(group(alert(annotations={"summary": summary})))

    assert event.title == "x" * 1024
    assert event.details["annotations"]["summary"] == summary


@pytest.mark.parametrize(
    ("labels", "source"),
    [
        ({"instance": "i:9", "job": "j"}, "i:9"),
        ({"job": "j"}, "j"),
        ({"alertname": "A"}, "alertmanager"),
    ],
)
def test_source_is_instance_then_job_then_alertmanager(labels: dict[str, str], source: str) -> None:
    assert one(group(alert(labels=labels))).source == source


@pytest.mark.parametrize(
    ("labels", "severity", "raw"),
    [
        ({"alertname": "A"}, "error", None),
        ({"severity": "page"}, "critical", "page"),
        ({"severity": "minor"}, "warning", "minor"),
        ({"severity": "sev0"}, "error", "sev0"),
    ],
)
def test_severity_comes_from_the_severity_label(
    labels: dict[str, str], severity: str, raw: str | None
) -> None:
    event = one(group(alert(labels=labels)))

    assert (event.severity, event.raw_severity) == (severity, raw)


def test_label_values_become_strings() -> None:
    event = one(group(alert(labels={"alertname": "A", "port": 9100, "up": True})))

    assert event.labels == {"alertname": "A", "port": "9100", "up": "true"}


def test_unknown_fields_survive_and_the_alert_wins_a_clash_with_the_group() -> None:
    body = group(alert(exemplar={"trace": "abc"}), cluster="eu-1", status="firing")
    body["alerts"][0]["status"] = "resolved"

    event = one(body)

    assert event.details["exemplar"] == {"trace": "abc"}
    assert event.details["cluster"] == "eu-1"
    assert event.details["status"] == "resolved"
    assert "alerts" not in event.details and "labels" not in event.details


def test_without_group_key_the_group_key_is_none() -> None:
    assert one(group(alert())).group_key is None


def test_an_empty_alert_list_gives_no_events() -> None:
    assert parse(request(group())) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"version": "4"}, [Problem("alerts", "must be a list of alerts")]),
        ({"alerts": {"labels": {}}}, [Problem("alerts", "must be a list of alerts")]),
        (group("oops"), [Problem("alerts[0]", "must be an object")]),
        (
            group({"status": "firing"}),
            [Problem("alerts[0].labels", "must be an object of label names to values")],
        ),
        (
            group(alert(labels=["a"])),
            [Problem("alerts[0].labels", "must be an object of label names to values")],
        ),
        (
            group(alert(startsAt="yesterday")),
            [Problem("alerts[0].startsAt", "must be an RFC 3339 timestamp")],
        ),
        (group(alert(endsAt=17)), [Problem("alerts[0].endsAt", "must be an RFC 3339 timestamp")]),
    ],
)
def test_each_structural_problem_is_refused(body: dict[str, Any], expected: list[Problem]) -> None:
    assert problems(body) == expected


def test_every_problem_of_every_alert_is_listed() -> None:
    body = group(alert(), 7, {"labels": None, "startsAt": "soon"}, alert(endsAt="later"))

    assert problems(body) == [
        Problem("alerts[1]", "must be an object"),
        Problem("alerts[2].labels", "must be an object of label names to values"),
        Problem("alerts[2].startsAt", "must be an RFC 3339 timestamp"),
        Problem("alerts[3].endsAt", "must be an RFC 3339 timestamp"),
    ]


@pytest.mark.parametrize(("raw", "message"), [(b"", "must be a JSON object"), (b"{", "is not valid JSON")])
def test_a_body_that_is_not_a_json_object_is_refused(raw: bytes, message: str) -> None:
    (problem,) = problems(raw)

    assert problem.field == "body"
    assert message in problem.message
