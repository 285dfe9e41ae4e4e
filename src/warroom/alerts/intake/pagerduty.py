"""PagerDuty Events API v2: alert events (POST /v2/enqueue) and change events (POST /v2/change/enqueue).

Alert events (`parse_event`): `routing_key` (required; the route looks the integration up by it),
`event_action` (trigger | acknowledge | resolve), `dedup_key` (at most 255 characters; optional on trigger,
where None means "generate one", required otherwise), and for triggers a `payload` with `summary` (at most
1024 characters), `source`, `severity` (critical | error | warning | info), optional `timestamp` (ISO 8601),
`component`, `group`, `class` and `custom_details`; top level `images`, `links` (`{href, text}`), `client` and
`client_url`.

Mapping of a trigger: title = summary, source = source, severity and raw_severity = severity,
occurred_at = timestamp, group_key = group, labels = component/group/class, links = `links[]` then
`client_url` (its text is `client`, else "client"). Acknowledge and resolve carry only the dedup key;
PagerDuty ignores their payload and links (not validated), and warroom keeps them in details.

`details`: every field without an AlertEventIn home, under PagerDuty's own names, except the `routing_key`
(a credential): `details["custom_details"]`, then the top-level keys other than `routing_key`,
`event_action`, `dedup_key`, `payload` and `links` as sent (`images`, `client`, `client_url`, and unknown
keys); unknown keys of `payload` go under `details["payload"]`. For acknowledge/resolve, all top-level keys
but `routing_key`, `event_action` and `dedup_key` are kept as sent.

Problems use PagerDuty's wording for its 400 "Event object is invalid" errors, e.g.
"'payload.summary' is missing or blank"; every problem of a request is listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from warroom.alerts.domain import Action, AlertEventIn, IntakeRejected, Problem, normalise_severity
from warroom.alerts.intake.base import IntakeRequest, json_object

EVENT_ACTIONS: tuple[Action, ...] = ("trigger", "acknowledge", "resolve")
PD_SEVERITIES = ("critical", "error", "warning", "info")
SUMMARY_MAX = 1024
DEDUP_KEY_MAX = 255
FIELD_MAX = 255  # source and group: warroom stores them as identifying columns of that size
TRIGGER_PAYLOAD_KEYS = frozenset(
    {"summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"}
)
CHANGE_PAYLOAD_KEYS = frozenset({"summary", "source", "timestamp", "custom_details"})


@dataclass(frozen=True)
class ChangeEventIn:
    """A change event: something changed (a deploy, a config push); it opens no alert.

    `details` keeps unknown top-level keys as sent and unknown `payload` keys under `details["payload"]`.
    """

    summary: str
    source: str
    timestamp: datetime | None
    links: list[dict[str, str]] = field(default_factory=list)
    custom_details: Any = None
    details: dict[str, Any] = field(default_factory=dict)


def routing_key(body: Mapping[str, Any]) -> str | None:
    """The body's routing key, if it is a non-blank string."""
    value = body.get("routing_key")
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_event(request: IntakeRequest) -> AlertEventIn:
    """An alert event, or IntakeRejected listing every problem."""
    return event_from(json_object(request))


def event_from(body: dict[str, Any]) -> AlertEventIn:
    """parse_event for a body already parsed (the route reads the routing key from it first)."""
    problems: list[Problem] = []
    _require_routing_key(body, problems)
    action = _event_action(body, problems)
    dedup_key = _dedup_key(body, required=action in ("acknowledge", "resolve"), problems=problems)
    links, payload = [], None
    if action == "trigger":  # PagerDuty ignores the payload and links of acknowledge and resolve
        links = _links(body, problems)
        payload = _payload(body, problems)
        if payload is not None:
            _check_trigger_payload(payload, problems)
    if problems or action is None:
        raise IntakeRejected(problems)
    if payload is None:
        rest = {k: v for k, v in body.items() if k not in ("routing_key", "event_action", "dedup_key")}
        return AlertEventIn(action=action, dedup_key=dedup_key, details=rest)
    return _trigger(body, payload, dedup_key, links)


def parse_change(request: IntakeRequest) -> ChangeEventIn:
    """A change event, or IntakeRejected listing every problem."""
    body = json_object(request)
    problems: list[Problem] = []
    _require_routing_key(body, problems)
    links = _links(body, problems)
    payload = _payload(body, problems)
    if payload is not None:
        _text(payload, "summary", "payload.summary", problems, required=True, limit=SUMMARY_MAX)
        _text(payload, "source", "payload.source", problems)
        _timestamp(payload, problems)
    if problems or payload is None:
        raise IntakeRejected(problems)
    details = {k: v for k, v in body.items() if k not in ("routing_key", "payload", "links")}
    extra = {k: v for k, v in payload.items() if k not in CHANGE_PAYLOAD_KEYS}
    if extra:
        details["payload"] = extra
    return ChangeEventIn(
        summary=payload["summary"],
        source=payload.get("source") or "",
        timestamp=_parse_time(payload.get("timestamp")),
        links=links,
        custom_details=payload.get("custom_details"),
        details=details,
    )


def _trigger(
    body: dict[str, Any], payload: dict[str, Any], dedup_key: str | None, links: list[dict[str, str]]
) -> AlertEventIn:
    client_url = body.get("client_url")
    if isinstance(client_url, str) and client_url.strip():
        client = body.get("client")
        text = client if isinstance(client, str) and client.strip() else "client"
        links = [*links, {"href": client_url.strip(), "text": text}]
    details: dict[str, Any] = {}
    if "custom_details" in payload:
        details["custom_details"] = payload["custom_details"]
    skip = ("routing_key", "event_action", "dedup_key", "payload", "links")
    details.update({k: v for k, v in body.items() if k not in skip})
    extra = {k: v for k, v in payload.items() if k not in TRIGGER_PAYLOAD_KEYS}
    if extra:
        details["payload"] = extra
    group = payload.get("group")
    return AlertEventIn(
        action="trigger",
        dedup_key=dedup_key,
        title=payload["summary"],
        severity=normalise_severity(payload["severity"]),
        raw_severity=payload["severity"],
        source=payload["source"],
        group_key=group or None,
        labels={key: payload[key] for key in ("component", "group", "class") if payload.get(key)},
        links=links,
        details=details,
        occurred_at=_parse_time(payload.get("timestamp")),
    )


def _require_routing_key(body: Mapping[str, Any], problems: list[Problem]) -> None:
    _text(body, "routing_key", "routing_key", problems, required=True)


def _event_action(body: Mapping[str, Any], problems: list[Problem]) -> Action | None:
    value = _text(body, "event_action", "event_action", problems, required=True)
    if value is None:
        return None
    for action in EVENT_ACTIONS:
        if value == action:
            return action
    allowed = ", ".join(EVENT_ACTIONS)
    problems.append(Problem("event_action", f"'event_action' is invalid (must be one of: {allowed})"))
    return None


def _dedup_key(body: Mapping[str, Any], *, required: bool, problems: list[Problem]) -> str | None:
    return _text(body, "dedup_key", "dedup_key", problems, required=required, limit=DEDUP_KEY_MAX)


def _payload(body: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any] | None:
    payload = body.get("payload")
    if payload is None:
        problems.append(Problem("payload", "'payload' is missing or blank"))
        return None
    if not isinstance(payload, dict):
        problems.append(Problem("payload", "'payload' must be an object"))
        return None
    return payload


def _check_trigger_payload(payload: Mapping[str, Any], problems: list[Problem]) -> None:
    _text(payload, "summary", "payload.summary", problems, required=True, limit=SUMMARY_MAX)
    _text(payload, "source", "payload.source", problems, required=True, limit=FIELD_MAX)
    severity = _text(payload, "severity", "payload.severity", problems, required=True)
    if severity is not None and severity not in PD_SEVERITIES:
        allowed = ", ".join(PD_SEVERITIES)
        message = f"'payload.severity' is invalid (must be one of: {allowed})"
        problems.append(Problem("payload.severity", message))
    for key in ("component", "group", "class"):
        _text(payload, key, f"payload.{key}", problems, limit=FIELD_MAX)
    _timestamp(payload, problems)


def _links(body: Mapping[str, Any], problems: list[Problem]) -> list[dict[str, str]]:
    raw = body.get("links")
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(Problem("links", "'links' must be an array"))
        return []
    links: list[dict[str, str]] = []
    for index, item in enumerate(raw):
        where = f"links[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(where, f"'{where}' must be an object"))
            continue
        href = _text(item, "href", f"{where}.href", problems, required=True)
        text = _text(item, "text", f"{where}.text", problems)
        if href is not None:
            links.append({"href": href, "text": text or href})
    return links


def _timestamp(payload: Mapping[str, Any], problems: list[Problem]) -> None:
    try:
        _parse_time(payload.get("timestamp"))
    except ValueError:
        problems.append(Problem("payload.timestamp", "'payload.timestamp' is not a valid ISO 8601 timestamp"))


def _text(
    data: Mapping[str, Any],
    key: str,
    name: str,
    problems: list[Problem],
    *,
    required: bool = False,
    limit: int | None = None,
) -> str | None:
    """The string at `key`, or None; notes a problem if required and blank, not a string, or too long."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(Problem(name, f"'{name}' is missing or blank"))
        return None
    if not isinstance(value, str):
        problems.append(Problem(name, f"'{name}' must be a string"))
        return None
    if limit is not None and len(value) > limit:
        problems.append(Problem(name, f"Length of '{name}' is too long (maximum {limit} characters)"))
        return None
    return value


def _parse_time(value: Any) -> datetime | None:
    """ISO 8601 (naive read as UTC); None when absent. Raises ValueError otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("not a string")
    parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
