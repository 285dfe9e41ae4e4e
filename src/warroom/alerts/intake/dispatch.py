"""From a stored request's route to its adapter: one table, used by the intake routes and by replay."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warroom.alerts.domain import AlertEventIn, IntakeRejected, Lookup, Problem
from warroom.alerts.intake import alertmanager, datadog, grafana, newrelic, opsgenie, pagerduty, webhook
from warroom.alerts.intake.base import IntakeRequest


@dataclass(frozen=True)
class Decoded:
    events: list[AlertEventIn]
    lookup: Lookup | None = None
    change: dict[str, Any] | None = field(default=None)


def _listed(parse: Callable[[IntakeRequest], Any]) -> Callable[[IntakeRequest], list[AlertEventIn]]:
    def events(raw: IntakeRequest) -> list[AlertEventIn]:
        parsed = parse(raw)
        return list(parsed) if isinstance(parsed, list) else [parsed]

    return events


WEBHOOK_PARSERS: dict[str, Callable[[IntakeRequest], list[AlertEventIn]]] = {
    "alertmanager": _listed(alertmanager.parse),
    "grafana": _listed(grafana.parse),
    "datadog": _listed(datadog.parse),
    "newrelic": _listed(newrelic.parse),
    "webhook": _listed(webhook.parse),
}


def change_columns(raw: IntakeRequest) -> dict[str, Any]:
    parsed = pagerduty.parse_change(raw)
    return {
        "at": parsed.timestamp or raw.now,
        "summary": parsed.summary[:1024],
        "source": (parsed.source or "")[:255],
        "links": parsed.links,
        "details": {"custom_details": parsed.custom_details, **parsed.details},
    }


def _heartbeat(raw: IntakeRequest) -> list[AlertEventIn]:
    from warroom.alerts.intake.heartbeats import DEDUP_KEY

    body = json.loads(raw.body)
    if body.get("action") == "resolve":
        return [AlertEventIn(action="resolve", dedup_key=DEDUP_KEY, actor="heartbeat")]
    title = f"Heartbeat '{body.get('heartbeat')}' missed"
    return [AlertEventIn(action="trigger", dedup_key=DEDUP_KEY, title=title, source="warroom heartbeat")]


def decode(route: dict[str, Any], raw: IntakeRequest) -> Decoded:
    """The events a request means, by the route it came in on (raises IntakeRejected)."""
    kind, op = route.get("kind"), route.get("op")
    if kind == "pagerduty":
        if op == "change":
            return Decoded([], change=change_columns(raw))
        return Decoded([pagerduty.parse_event(raw)])
    if kind == "opsgenie":
        if op == "create":
            return Decoded([opsgenie.parse_create(raw)])
        lookup = Lookup(str(route["identifier"]), opsgenie.identifier_type(route.get("identifier_type")))
        if str(op).startswith("update-"):
            return Decoded([opsgenie.parse_update(raw, str(op)[len("update-") :])], lookup=lookup)
        return Decoded([opsgenie.parse_action(raw, op)], lookup=lookup)  # type: ignore[arg-type]
    if kind == "heartbeat":
        return Decoded(_heartbeat(raw))
    if kind in WEBHOOK_PARSERS:
        return Decoded(WEBHOOK_PARSERS[kind](raw))
    raise IntakeRejected([Problem("route", f"no adapter for {kind}/{op}")])
