"""Timeline events as sentences a responder reads at a glance, with the procedure's names for ids."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warroom.comms.wording import messages_sent
from warroom.procedure.schemas import Procedure
from warroom.timeline.models import TimelineEvent

MILESTONES = {
    "impact_started": "Impact started",
    "detected": "Detected",
    "acknowledged": "Acknowledged: the response-target clock stopped",
    "contained": "Contained",
    "mitigated": "Mitigated",
    "resolved": "Resolved",
    "closed": "Closed",
}
# What each kind looks like in the list: notes stand out, bookkeeping recedes.
TONES = {
    "note": "note",
    "stakeholder_update": "update",
    "update_reminder": "alarm",
    "declared": "milestone",
    "severity_changed": "alarm",
    "phase_changed": "phase",
    "reopened": "alarm",
    **dict.fromkeys(MILESTONES, "milestone"),
}


@dataclass(frozen=True)
class EventView:
    seq: int
    at: datetime
    actor: str
    kind: str
    summary: str
    body: str
    tone: str


def _names(procedure: Procedure) -> dict[str, dict[str, str]]:
    return {
        "role": {r.id: r.name for r in procedure.roles},
        "phase": {p.id: p.name for p in procedure.phases},
        "severity": {s.id: f"{s.id} {s.name}" for s in procedure.severities},
    }


def _name(names: Mapping[str, str], value: Any) -> str:
    return names.get(str(value), str(value))


Describer = Callable[[Mapping[str, Any], dict[str, dict[str, str]]], tuple[str, str]]


def _declared(d: Mapping[str, Any], n: dict[str, dict[str, str]]) -> tuple[str, str]:
    severity = _name(n["severity"], d.get("severity"))
    return f"Declared {severity}: {d.get('title', '')}", ""


def _severity(d: Mapping[str, Any], n: dict[str, dict[str, str]]) -> tuple[str, str]:
    old, new = _name(n["severity"], d.get("old")), _name(n["severity"], d.get("new"))
    return f"Severity changed from {old} to {new}", str(d.get("reason") or "")


def _phase(d: Mapping[str, Any], n: dict[str, dict[str, str]]) -> tuple[str, str]:
    old, new = _name(n["phase"], d.get("old")), _name(n["phase"], d.get("new"))
    return f"Phase: {old} → {new}", str(d.get("reason") or "")


def _role(verb: str) -> Describer:
    def describe(d: Mapping[str, Any], n: dict[str, dict[str, str]]) -> tuple[str, str]:
        return f"{_name(n['role'], d.get('role'))} {verb} {d.get('user', '')}", ""

    return describe


def _task(verb: str) -> Describer:
    def describe(d: Mapping[str, Any], _n: dict[str, dict[str, str]]) -> tuple[str, str]:
        assignee = d.get("assignee") or (d.get("changes") or {}).get("assignee")
        suffix = f" (assigned to {assignee})" if assignee and verb == "added" else ""
        return f"Task {verb}: {d.get('title', '')}{suffix}", ""

    return describe


def _alert(verb: str) -> Describer:
    def describe(d: Mapping[str, Any], _n: dict[str, dict[str, str]]) -> tuple[str, str]:
        return f"Alert #{d.get('alert_id')} {verb}: {d.get('title', '')}", ""

    return describe


def _link(verb: str) -> Describer:
    def describe(d: Mapping[str, Any], _n: dict[str, dict[str, str]]) -> tuple[str, str]:
        return f"Link {verb}: {d.get('title', '')}", str(d.get("url") or "")

    return describe


def _updated(d: Mapping[str, Any], _n: dict[str, dict[str, str]]) -> tuple[str, str]:
    changes = d.get("changes") or {}
    return f"Edited {', '.join(sorted(changes))}", "\n".join(f"{k}: {v}" for k, v in sorted(changes.items()))


def _services(d: Mapping[str, Any], _n: dict[str, dict[str, str]]) -> tuple[str, str]:
    new = ", ".join(d.get("new") or []) or "none"
    return f"Affected services: {new}", ""


def _paged(d: Mapping[str, Any], _n: dict[str, dict[str, str]]) -> tuple[str, str]:
    channels = ", ".join(d.get("channels") or [])
    return f"Paged {d.get('user', '')} via {channels or 'no channel'} (alert #{d.get('alert_id')})", ""


NOBODY = "nobody (no communications lead or commander)"


def _sent_to(d: Mapping[str, Any]) -> str:
    """Where a stakeholder update went (events from before stakeholder lists say only that it was posted)."""
    if "audiences" not in d:
        return "Stakeholder update"
    audiences = ", ".join(d["audiences"]) or "no audience"
    return f"Stakeholder update to {audiences} ({messages_sent(int(d.get('messages', 0)))})"


DESCRIBERS: dict[str, Describer] = {
    "declared": _declared,
    "severity_changed": _severity,
    "phase_changed": _phase,
    "reopened": lambda d, n: (
        f"Reopened from {_name(n['phase'], d.get('phase'))}",
        str(d.get("reason") or ""),
    ),
    "role_assigned": _role("assigned to"),
    "role_unassigned": _role("taken from"),
    "task_added": _task("added"),
    "task_done": _task("done"),
    "task_updated": _task("changed"),
    "note": lambda d, _n: ("Internal note", str(d.get("body", ""))),
    "stakeholder_update": lambda d, _n: (_sent_to(d), str(d.get("body", ""))),
    "update_reminder": lambda d, _n: (f"Stakeholder update due; reminded {d.get('reminded') or NOBODY}", ""),
    "link_added": _link("added"),
    "link_removed": _link("removed"),
    "alert_attached": _alert("attached"),
    "alert_acknowledged": _alert("acknowledged"),
    "alert_resolved": _alert("resolved"),
    "alert_triggered": _alert("triggered again"),
    "updated": _updated,
    "services_changed": _services,
    "paged": _paged,
    "status_page_updated": lambda d, _n: (
        f"Status page {d.get('page_kind', 'incident')} #{d.get('status_incident_id')}: {d.get('status')}",
        str(d.get("url") or ""),
    ),
}


def describe(event: TimelineEvent, procedure: Procedure, names: dict[str, dict[str, str]]) -> EventView:
    describer = DESCRIBERS.get(event.kind)
    if describer is not None:
        summary, body = describer(event.data or {}, names)
    else:
        summary, body = MILESTONES.get(event.kind, event.kind.replace("_", " ").capitalize()), ""
    return EventView(
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        kind=event.kind,
        summary=summary,
        body=body,
        tone=TONES.get(event.kind, "plain"),
    )


def describe_all(events: list[TimelineEvent], procedure: Procedure) -> list[EventView]:
    names = _names(procedure)
    return [describe(event, procedure, names) for event in events]
