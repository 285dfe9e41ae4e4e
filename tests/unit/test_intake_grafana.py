from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from warroom.alerts.domain import AlertEventIn, IntakeRejected, Problem
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.grafana import parse, verify_signature

FIXTURES = Path(__file__).parents[1] / "fixtures" / "intake"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SECRET = "s3cret-shared-with-grafana"
GROUP_KEY = '{}/{service="checkout"}:{grafana_folder="Shop"}'


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes(name))
    return data


def request(body: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> IntakeRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return IntakeRequest(body=raw, content_type="application/json", now=NOW, headers=headers or {})


def sign(message: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def refusal(req: IntakeRequest, **options: Any) -> list[Problem]:
    with pytest.raises(IntakeRejected) as caught:
        verify_signature(req, SECRET, **options)
    return caught.value.problems


def test_a_documented_notification_maps_every_field_and_adds_grafana_links() -> None:
    body = fixture("grafana_firing.json")
    first_alert, second_alert = body["alerts"]
    group = {k: v for k, v in body.items() if k != "alerts"}

    first, second = parse(request(body))

    assert first == AlertEventIn(
        action="trigger",
        dedup_key="0c6f2e9d81a4b375",
        title="Checkout 5xx ratio is 4.2%",
        description="More than 2% of checkout requests failed over the last 5 minutes.",
        severity="error",
        raw_severity="high",
        source="grafana",
        group_key=GROUP_KEY,
        labels=first_alert["labels"],
        links=[
            {"href": "https://grafana.example.net/alerting/grafana/bd1ua7hq/view", "text": "Source"},
            {"href": "https://runbooks.example.net/checkout-errors", "text": "Runbook"},
            {"href": first_alert["silenceURL"], "text": "Silence"},
            {"href": "https://grafana.example.net/d/shop-checkout", "text": "Dashboard"},
            {"href": "https://grafana.example.net/d/shop-checkout?viewPanel=4", "text": "Panel"},
            {
                "href": "https://grafana.example.net/public/img/attachments/checkout-errors.png",
                "text": "Image",
            },
        ],
        details={**group, **{k: v for k, v in first_alert.items() if k != "labels"}},
        occurred_at=datetime(2026, 3, 2, 9, 52, tzinfo=UTC),
    )
    assert second.title == "Checkout latency"
    assert (second.severity, second.raw_severity) == ("error", None)
    assert second.links == [
        {"href": "https://grafana.example.net/alerting/grafana/c92kq0xz/view", "text": "Source"},
        {"href": second_alert["silenceURL"], "text": "Silence"},
    ]


def test_grafana_only_fields_survive_in_details() -> None:
    first, _ = parse(request(fixture("grafana_firing.json")))

    assert first.details["values"] == {"A": 0.042, "C": 1}
    assert first.details["valueString"].startswith("[ var='A'")
    assert (first.details["orgId"], first.details["state"]) == (1, "alerting")
    assert first.details["title"] == "[FIRING:2] Shop (checkout)"
    assert first.details["message"].startswith("**Firing**")


def test_a_documented_resolved_notification_resolves_the_same_alert() -> None:
    firing, _ = parse(request(fixture("grafana_firing.json")))

    (resolved,) = parse(request(fixture("grafana_resolved.json")))

    assert (resolved.action, resolved.dedup_key) == ("resolve", firing.dedup_key)


def test_an_ended_alert_still_marked_firing_is_resolved_by_its_end_time() -> None:
    body = fixture("grafana_firing.json")
    body["alerts"][1]["endsAt"] = "2026-03-02T10:59:00+01:00"
    body["alerts"][0]["endsAt"] = "2026-03-02T11:30:00+01:00"

    first, second = parse(request(body))

    assert (first.action, second.action) == ("trigger", "resolve")


def test_invalid_alerts_are_refused_like_alertmanager_ones() -> None:
    body = {"version": "1", "alerts": [{"status": "firing", "endsAt": "never"}]}

    with pytest.raises(IntakeRejected) as caught:
        parse(request(body))

    assert caught.value.problems == [
        Problem("alerts[0].labels", "must be an object of label names to values"),
        Problem("alerts[0].endsAt", "must be an RFC 3339 timestamp"),
    ]


def test_a_body_signature_verifies() -> None:
    raw = fixture_bytes("grafana_firing.json")

    verify_signature(request(raw, {"x-grafana-alerting-signature": sign(raw)}), SECRET)


def test_an_upper_case_signature_verifies() -> None:
    raw = fixture_bytes("grafana_firing.json")

    verify_signature(request(raw, {"x-grafana-alerting-signature": f" {sign(raw).upper()} "}), SECRET)


def test_a_timestamped_signature_verifies() -> None:
    raw = fixture_bytes("grafana_firing.json")
    stamp = str(int((NOW - timedelta(seconds=30)).timestamp()))
    headers = {
        "x-grafana-alerting-signature": sign(stamp.encode() + b":" + raw),
        "x-grafana-alerting-signature-timestamp": stamp,
    }

    verify_signature(request(raw, headers), SECRET)


def test_custom_header_names_are_honoured() -> None:
    raw = b'{"alerts": []}'
    stamp = str(int(NOW.timestamp()))
    headers = {"x-sig": sign(f"{stamp}:".encode() + raw), "x-sig-time": stamp}

    verify_signature(request(raw, headers), SECRET, signature_header="X-Sig", timestamp_header="X-Sig-Time")


def test_a_missing_signature_is_refused() -> None:
    assert refusal(request(b"{}")) == [
        Problem("X-Grafana-Alerting-Signature", "is missing; this integration requires signatures")
    ]


@pytest.mark.parametrize(
    "signature",
    [sign(b"{}", "another secret"), sign(b'{"alerts": []}'), "not hex at all", "é" * 64],
)
def test_a_wrong_signature_is_refused(signature: str) -> None:
    problems = refusal(request(b"{}", {"x-grafana-alerting-signature": signature}))

    assert problems == [
        Problem(
            "X-Grafana-Alerting-Signature", "does not match the body signed with the integration's secret"
        )
    ]


def test_a_body_only_signature_with_a_timestamp_header_is_refused() -> None:
    raw = b"{}"
    headers = {
        "x-grafana-alerting-signature": sign(raw),
        "x-grafana-alerting-signature-timestamp": str(int(NOW.timestamp())),
    }

    assert refusal(request(raw, headers))[0].field == "X-Grafana-Alerting-Signature"


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_far_from_now_is_refused_even_when_correctly_signed(offset: timedelta) -> None:
    raw = b"{}"
    stamp = str(int((NOW + offset).timestamp()))
    headers = {
        "x-grafana-alerting-signature": sign(stamp.encode() + b":" + raw),
        "x-grafana-alerting-signature-timestamp": stamp,
    }

    assert refusal(request(raw, headers)) == [
        Problem("X-Grafana-Alerting-Signature-Timestamp", "is more than 300 seconds from the server's time")
    ]


@pytest.mark.parametrize("stamp", ["", "1772445600.5", "-1772445600", "99999999999999999999", "١٢٣"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(stamp: str) -> None:
    headers = {"x-grafana-alerting-signature": "00", "x-grafana-alerting-signature-timestamp": stamp}

    assert refusal(request(b"{}", headers)) == [
        Problem("X-Grafana-Alerting-Signature-Timestamp", "must be Unix seconds")
    ]


def test_an_empty_secret_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="empty secret"):
        verify_signature(request(b"{}", {"x-grafana-alerting-signature": sign(b"{}", "")}), "")
