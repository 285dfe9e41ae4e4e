"""Prometheus Alertmanager `webhook_config` notifications (payload version "4"): one event per alert.

A notification carries one alert group: top-level `receiver`, `status`, `groupLabels`, `commonLabels`,
`commonAnnotations`, `externalURL`, `version`, `groupKey`, `truncatedAlerts` and `alerts[]`, each alert with
`status`, `labels`, `annotations`, `startsAt`, `endsAt`, `generatorURL` and `fingerprint`.

Mapping, per alert:

- dedup_key: `fingerprint`; without one, a SHA-256 of the labels (key order does not matter).
- action: "resolve" when the alert's `status` is "resolved", or when `endsAt` is set, is not the zero time
  `0001-01-01T00:00:00Z` and is not after the request's time; otherwise "trigger". (Alertmanager puts a future
  `endsAt` on firing alerts: that is when it would consider them resolved if Prometheus stopped sending.)
- title: `annotations.summary`, else `annotations.title`, else `labels.alertname` (at most 1024 characters;
  the full text stays in `details.annotations`). description: `annotations.description` or `.message`.
- severity: `labels.severity` through `normalise_severity` (default "error"); raw_severity keeps it.
- source: `labels.instance`, else `labels.job`, else "alertmanager". group_key: the top-level `groupKey`.
- labels: the alert's labels as strings. links: `generatorURL` ("Source") and `annotations.runbook_url`
  ("Runbook"). occurred_at: `startsAt`.
- details: flat. The group's fields (all top-level keys but `alerts`) overlaid by the alert's own fields
  (all but `labels`), so `details["annotations"]`, `details["startsAt"]`, `details["receiver"]`,
  `details["commonLabels"]`... and any key either level adds later. On a clash the alert wins: the group's
  `status` is not kept (it is "firing" when any alert of the group fires).

Validation: `alerts` must be a list (empty gives no events), each alert an object whose `labels` is an object,
and `startsAt`/`endsAt`, where present, RFC 3339 timestamps. Unknown fields are kept, never rejected.
Grafana reuses `validate_alerts` and `alert_event`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from warroom.alerts.domain import AlertEventIn, IntakeRejected, Problem, normalise_severity
from warroom.alerts.intake.base import IntakeRequest, json_object

TITLE_MAX = 1024
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


def parse(request: IntakeRequest) -> list[AlertEventIn]:
    """One AlertEventIn per alert of the notification, in the order sent."""
    body = json_object(request)
    alerts = validate_alerts(body)
    return [alert_event(alert, body, now=request.now, sender="alertmanager") for alert in alerts]


def validate_alerts(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The notification's alerts, or IntakeRejected listing every structural problem."""
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise IntakeRejected([Problem("alerts", "must be a list of alerts")])
    problems: list[Problem] = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(alert, dict):
            problems.append(Problem(where, "must be an object"))
            continue
        if not isinstance(alert.get("labels"), dict):
            problems.append(Problem(f"{where}.labels", "must be an object of label names to values"))
        for key in ("startsAt", "endsAt"):
            try:
                parse_time(alert.get(key))
            except ValueError:
                problems.append(Problem(f"{where}.{key}", "must be an RFC 3339 timestamp"))
    if problems:
        raise IntakeRejected(problems)
    return alerts


def alert_event(
    alert: Mapping[str, Any], body: Mapping[str, Any], *, now: datetime, sender: str
) -> AlertEventIn:
    """The event for one validated alert of the group `body`; `sender` is the source of last resort."""
    labels = {str(name): _as_text(value) for name, value in alert["labels"].items()}
    annotations = alert.get("annotations")
    notes: Mapping[str, Any] = annotations if isinstance(annotations, dict) else {}
    title = _first(notes.get("summary"), notes.get("title"), labels.get("alertname")) or f"{sender} alert"
    raw_severity = labels.get("severity") or None
    group_key = body.get("groupKey")
    return AlertEventIn(
        action="resolve" if is_resolved(alert, now) else "trigger",
        dedup_key=_first(alert.get("fingerprint")) or fingerprint(labels),
        title=title[:TITLE_MAX],
        description=_first(notes.get("description"), notes.get("message")) or "",
        severity=normalise_severity(raw_severity),
        raw_severity=raw_severity,
        source=_first(labels.get("instance"), labels.get("job")) or sender,
        group_key=group_key if isinstance(group_key, str) and group_key else None,
        labels=labels,
        links=links_from([("Source", alert.get("generatorURL")), ("Runbook", notes.get("runbook_url"))]),
        details=_details(alert, body),
        occurred_at=parse_time(alert.get("startsAt")),
    )


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable key for an alert sent without `fingerprint`: the same label set gives the same key."""
    canonical = json.dumps(dict(labels), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_resolved(alert: Mapping[str, Any], now: datetime) -> bool:
    """Resolved by status, or by an `endsAt` that is set, not the zero time, and not after `now`."""
    if alert.get("status") == "resolved":
        return True
    ends_at = parse_time(alert.get("endsAt"))
    return ends_at is not None and ends_at <= now


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time (nanoseconds allowed, naive read as UTC); None for absent, empty or the zero time.

    Raises ValueError for anything else.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("not a string")
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return None if parsed == ZERO_TIME else parsed


def links_from(pairs: list[tuple[str, Any]]) -> list[dict[str, str]]:
    """`{"href", "text"}` objects for the (text, url) pairs whose url is a non-blank string."""
    return [
        {"href": url.strip(), "text": text} for text, url in pairs if isinstance(url, str) and url.strip()
    ]


def _details(alert: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    group = {key: value for key, value in body.items() if key != "alerts"}
    own = {key: value for key, value in alert.items() if key != "labels"}
    return {**group, **own}


def _first(*values: Any) -> str | None:
    """The first value that is a non-blank string."""
    for value in values:
        if isinstance(value, str) and value.strip():
            return value
    return None


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
