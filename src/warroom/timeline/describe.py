"""Timeline events in words, in one place: the sentence a responder reads on the incident page and in the
review, and the line mirrored into a chat war room, with the procedure's names for the ids events carry.

Imports only for type checking: the CLI uses `messages_sent` and stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from warroom.timeline.kinds import EventKind

if TYPE_CHECKING:
    from warroom.procedure.schemas import Procedure
    from warroom.timeline.models import TimelineEvent

Names = dict[str, dict[str, str]]


def messages_sent(count: int) -> str:
    """How many stakeholder messages an update queued; none means its lists were empty."""
    if count == 0:
        return "no message: those lists were empty"
    return "1 message" if count == 1 else f"{count:,} messages"


MILESTONES: dict[str, str] = {
    EventKind.impact_started: "Impact started",
    EventKind.detected: "Detected",
    EventKind.acknowledged: "Acknowledged: the response-target clock stopped",
    EventKind.contained: "Contained",
    EventKind.mitigated: "Mitigated",
    EventKind.resolved: "Resolved",
    EventKind.closed: "Closed",
    EventKind.compromised: "First malicious activity (estimated)",
    EventKind.eradicated: "Eradicated",
    EventKind.recovered: "Recovered",
    EventKind.notified: "Regulators or those affected notified",
}
# What each kind looks like in the list: notes stand out, bookkeeping recedes.
TONES: dict[str, str] = {
    "note": "note",
    "stakeholder_update": "update",
    "update_reminder": "alarm",
    "declared": "milestone",
    "severity_changed": "alarm",
    "phase_changed": "phase",
    "reopened": "alarm",
    "roles_waived": "alarm",
    "page_failed": "alarm",
    "task_waived": "alarm",
    "action_failed": "alarm",
    "target_warning": "alarm",
    "target_missed": "alarm",
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


def names_of(procedure: Procedure) -> Names:
    """The procedure's names for the ids events carry: roles, phases, and severities ("P1 Critical")."""
    return {
        "role": {r.id: r.name for r in procedure.roles},
        "phase": {p.id: p.name for p in procedure.phases},
        "severity": {s.id: f"{s.id} {s.name}" for s in procedure.severities},
    }


def _name(names: Mapping[str, str], value: Any) -> str:
    return names.get(str(value), str(value))


Describer = Callable[[Mapping[str, Any], Names], tuple[str, str]]


def _declared(d: Mapping[str, Any], n: Names) -> tuple[str, str]:
    severity = _name(n["severity"], d.get("severity"))
    return f"Declared {severity}: {d.get('title', '')}", ""


def _severity(d: Mapping[str, Any], n: Names) -> tuple[str, str]:
    old, new = _name(n["severity"], d.get("old")), _name(n["severity"], d.get("new"))
    return f"Severity changed from {old} to {new}", str(d.get("reason") or "")


def _phase(d: Mapping[str, Any], n: Names) -> tuple[str, str]:
    old, new = _name(n["phase"], d.get("old")), _name(n["phase"], d.get("new"))
    unticked = "".join(f"\nUnticked: {text}" for text in d.get("unticked") or [])
    return f"Phase: {old} → {new}", str(d.get("reason") or "") + unticked


def _action(verb: str) -> Describer:
    def describe(d: Mapping[str, Any], _n: Names) -> tuple[str, str]:
        target = f" on {d['target']}" if d.get("target") else ""
        answer = f"HTTP {d['status']}" if d.get("status") else ""
        return f"Action {d.get('name') or d.get('action', '')}{target} {verb}", str(d.get("error") or answer)

    return describe


def _marked(item: Mapping[str, Any]) -> str:
    """An observable with its TLP, as exports must say it: `ip 203.0.113.7 [TLP:AMBER]`."""
    return f"{item.get('type')} {item.get('value')} [TLP:{str(item.get('tlp', '')).upper()}]"


def _observables(d: Mapping[str, Any], _n: Names) -> tuple[str, str]:
    items = list(d.get("items") or [])
    shown = ", ".join(_marked(i) for i in items[:10]) + (
        f" and {len(items) - 10} more" if len(items) > 10 else ""
    )
    return f"Observables added ({d.get('source', '')}): {shown}", ""


def _check(verb: str) -> Describer:
    def describe(d: Mapping[str, Any], n: Names) -> tuple[str, str]:
        return f"Exit criterion of {_name(n['phase'], d.get('phase'))} {verb}: {d.get('text', '')}", ""

    return describe


def _role(verb: str) -> Describer:
    def describe(d: Mapping[str, Any], n: Names) -> tuple[str, str]:
        return f"{_name(n['role'], d.get('role'))} {verb} {d.get('user', '')}", ""

    return describe


def _waived(d: Mapping[str, Any], n: Names) -> tuple[str, str]:
    roles = ", ".join(_name(n["role"], r) for r in d.get("roles") or [])
    # The reason is in the summary too: the review's timeline shows summaries only.
    return f"Waived required role(s): {roles}. Reason: {d.get('reason', '')}", str(d.get("reason") or "")


def _task(verb: str) -> Describer:
    def describe(d: Mapping[str, Any], _n: Names) -> tuple[str, str]:
        assignee = d.get("assignee") or (d.get("changes") or {}).get("assignee")
        suffix = f" (assigned to {assignee})" if assignee and verb == "added" else ""
        return f"Task {verb}: {d.get('title', '')}{suffix}", ""

    return describe


def _alert(verb: str) -> Describer:
    def describe(d: Mapping[str, Any], _n: Names) -> tuple[str, str]:
        return f"Alert #{d.get('alert_id')} {verb}: {d.get('title', '')}", ""

    return describe


def _link(verb: str) -> Describer:
    def describe(d: Mapping[str, Any], _n: Names) -> tuple[str, str]:
        return f"Link {verb}: {d.get('title', '')}", str(d.get("url") or "")

    return describe


def _updated(d: Mapping[str, Any], _n: Names) -> tuple[str, str]:
    changes = d.get("changes") or {}
    return f"Edited {', '.join(sorted(changes))}", "\n".join(f"{k}: {v}" for k, v in sorted(changes.items()))


def _services(d: Mapping[str, Any], _n: Names) -> tuple[str, str]:
    new = ", ".join(d.get("new") or []) or "none"
    return f"Affected services: {new}", ""


def _paged(d: Mapping[str, Any], _n: Names) -> tuple[str, str]:
    channels = ", ".join(_channel(n) for n in d.get("notified") or []) or ", ".join(d.get("channels") or [])
    return f"Paged {d.get('user', '')} via {channels or 'no channel'}", why_paged(d)


def why_paged(d: Mapping[str, Any]) -> str:
    """The chain that chose the person (paging.steps records it): origin, service, policy and step, how the
    step reached them. Events from before the chain was recorded say what they have."""
    links = [
        str(d.get("origin") or d.get("reason") or (f"alert #{d['alert_id']}" if d.get("alert_id") else "")),
        f"service {d['service']}" if d.get("service") else "",
        f"policy {d['policy']} step {int(d.get('step') or 0) + 1}" if d.get("policy") else "",
        f"round {int(d.get('round') or 0) + 1}" if d.get("round") else "",
        str(d.get("via") or ""),
    ]
    return " → ".join(link for link in links if link)


def _channel(notified: Mapping[str, Any]) -> str:
    after = int(notified.get("after_seconds") or 0)
    later = f" after {after // 60} min" if after >= 60 else (f" after {after} s" if after else "")
    return str(notified.get("channel")) + later


def _fields(d: Mapping[str, Any]) -> str:
    """The names of the fields an edit changed, as words ("five_whys" -> "five whys")."""
    return ", ".join(str(f).replace("_", " ") for f in d.get("fields") or []) or "nothing"


NOBODY = "nobody (no communications lead or commander)"


def _sent_to(d: Mapping[str, Any]) -> str:
    """Where a stakeholder update went (events from before stakeholder lists say only that it was posted)."""
    if "audiences" not in d:
        return "Stakeholder update"
    audiences = ", ".join(d["audiences"]) or "no audience"
    return f"Stakeholder update to {audiences} ({messages_sent(int(d.get('messages', 0)))})"


DESCRIBERS: dict[str, Describer] = {
    EventKind.declared: _declared,
    EventKind.severity_changed: _severity,
    EventKind.phase_changed: _phase,
    EventKind.reopened: lambda d, n: (
        f"Reopened from {_name(n['phase'], d.get('phase'))}",
        str(d.get("reason") or ""),
    ),
    EventKind.role_assigned: _role("assigned to"),
    EventKind.role_unassigned: _role("taken from"),
    EventKind.roles_waived: _waived,
    EventKind.task_added: _task("added"),
    EventKind.task_done: _task("done"),
    EventKind.task_updated: _task("changed"),
    EventKind.task_started: _task("started"),
    EventKind.task_waived: lambda d, _n: (
        f"Step waived: {d.get('title', '')}. Reason: {d.get('reason', '')}",
        str(d.get("reason") or ""),
    ),
    EventKind.exit_check_ticked: _check("ticked"),
    EventKind.exit_check_unticked: _check("unticked"),
    EventKind.action_requested: _action("requested"),
    EventKind.action_approved: _action("approved"),
    EventKind.action_succeeded: _action("succeeded"),
    EventKind.action_failed: _action("failed"),
    EventKind.evidence_added: lambda d, _n: (
        f"Evidence #{d.get('evidence_id')} collected from {d.get('collected_from') or 'unknown'}: "
        f"{d.get('filename')} ({d.get('size')} bytes)",
        f"sha256 {d.get('sha256')}",
    ),
    EventKind.evidence_downloaded: lambda d, _n: (
        f"Evidence #{d.get('evidence_id')} downloaded",
        str(d.get("via") or ""),
    ),
    EventKind.evidence_handed_over: lambda d, _n: (
        f"Evidence #{d.get('evidence_id')} handed over to {d.get('to')}",
        str(d.get("note") or ""),
    ),
    EventKind.target_warning: lambda d, _n: (
        f"The {d.get('clock')} target is close (due {d.get('due_at', '')[11:16]} UTC): "
        f"paged {d.get('paged') or 'nobody (no commander)'}",
        "",
    ),
    EventKind.target_missed: lambda d, _n: (
        f"The {d.get('clock')} target was missed: paged {', '.join(d.get('paged') or []) or 'nobody'}",
        "; ".join(d.get("problems") or []),
    ),
    EventKind.observable_added: _observables,
    EventKind.observable_changed: lambda d, _n: (
        f"Observable changed: {_marked(d)}",
        ", ".join(sorted(d.get("changes") or {})),
    ),
    EventKind.observable_removed: lambda d, _n: (f"Observable removed: {_marked(d)}", ""),
    EventKind.asset_linked: lambda d, _n: (
        f"Asset: {d.get('asset_kind')} {d.get('name')} ({d.get('surface')} surface)",
        "",
    ),
    EventKind.note: lambda d, _n: ("Internal note", str(d.get("body", ""))),
    EventKind.stakeholder_update: lambda d, _n: (_sent_to(d), str(d.get("body", ""))),
    EventKind.update_reminder: lambda d, _n: (
        f"Stakeholder update due; reminded {d.get('reminded') or NOBODY}",
        "",
    ),
    EventKind.link_added: _link("added"),
    EventKind.link_removed: _link("removed"),
    EventKind.alert_attached: _alert("attached"),
    EventKind.alert_acknowledged: _alert("acknowledged"),
    EventKind.alert_resolved: _alert("resolved"),
    EventKind.alert_triggered: _alert("triggered again"),
    EventKind.updated: _updated,
    EventKind.services_changed: _services,
    EventKind.paged: _paged,
    EventKind.restriction_changed: lambda d, _n: (
        "Restricted to participants" if d.get("restricted") else "No longer restricted",
        "",
    ),
    EventKind.participant_added: lambda d, _n: (f"Participant added: {d.get('user')}", ""),
    EventKind.accessed: lambda d, _n: (f"Opened by {d.get('user')}", str(d.get("via") or "")),
    EventKind.page_failed: lambda d, _n: (f"Could not page {d.get('target')}: {d.get('problem')}", ""),
    EventKind.acknowledged: lambda d, _n: (
        f"Acknowledged{' via ' + str(d['via']) if d.get('via') else ''}: the response-target clock stopped",
        "",
    ),
    EventKind.drill_ended: lambda d, n: (
        f"Drill ended in {_name(n['phase'], d.get('phase'))}: paging stopped, "
        f"{d.get('alerts_resolved', 0)} alert(s) resolved, closed",
        "",
    ),
    EventKind.change_arrived: lambda d, _n: (f"Change: {d.get('summary', '')}", str(d.get("source") or "")),
    EventKind.review_edited: lambda d, _n: (f"Review edited: {_fields(d)}", ""),
    EventKind.review_reviewer_added: lambda d, _n: (f"Reviewer added: {d.get('reviewer', '')}", ""),
    EventKind.review_status_changed: lambda d, _n: (
        f"Review {str(d.get('old', '')).replace('_', ' ')} → {str(d.get('new', '')).replace('_', ' ')}",
        "",
    ),
    EventKind.action_item_added: lambda d, _n: (
        f"Action item #{d.get('id')} added: {d.get('title', '')}",
        "",
    ),
    EventKind.action_item_changed: lambda d, _n: (f"Action item #{d.get('id')} changed: {_fields(d)}", ""),
    EventKind.intel_match: lambda d, _n: (
        f"Threat intel: {d.get('value', '?')} matches {d.get('indicator', 'an indicator')}",
        f"feed {d.get('feed', '?')}, confidence {d.get('confidence', '?')}",
    ),
    EventKind.recurrence: lambda d, _n: (
        f"Recurrence? Alert #{d.get('alert_id')} on {d.get('service')}, "
        f"{d.get('minutes_after_recovery')} min after recovery: {d.get('title', '')}",
        f"Paged the commander, {d.get('paged')}" if d.get("paged") else "No commander to page",
    ),
    EventKind.status_page_drafted: lambda d, _n: (
        f"Status page draft #{d.get('status_incident_id')} staged for {', '.join(d.get('components') or [])}"
        " (not public until published)",
        "",
    ),
    EventKind.status_page_silent: lambda d, _n: (
        f"The status page still shows {', '.join(d.get('components') or [])} operational; "
        f"{d.get('reminded') or 'nobody (no communications lead or commander)'} was told",
        "",
    ),
    EventKind.status_page_updated: lambda d, _n: (
        f"Status page {d.get('page_kind', 'incident')} #{d.get('status_incident_id')}: {d.get('status')}",
        str(d.get("url") or ""),
    ),
}


def describe(event: TimelineEvent, names: Names) -> EventView:
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
    names = names_of(procedure)
    return [describe(event, names) for event in events]


def chat_line(event: TimelineEvent, names: Names) -> str:
    """The line (or short paragraph) mirrored into a chat room: terse, with the actor inline, since chat
    shows no actor column."""
    data, actor = event.data or {}, event.actor
    phase, role = names["phase"], names["role"]
    reason = f": {data['reason']}" if data.get("reason") else ""
    lines: dict[str, str] = {
        EventKind.severity_changed: f"Severity {data.get('old')} → {data.get('new')} by {actor}{reason}",
        EventKind.phase_changed: (
            f"Phase {_name(phase, data.get('old'))} → {_name(phase, data.get('new'))} by {actor}{reason}"
        ),
        EventKind.role_assigned: f"{data.get('user')} is now {_name(role, data.get('role'))} (by {actor})",
        EventKind.role_unassigned: (
            f"{data.get('user')} is no longer {_name(role, data.get('role'))} (by {actor})"
        ),
        EventKind.stakeholder_update: f"Stakeholder update from {actor}:\n{data.get('body', '')}",
        EventKind.note: f"Note from {actor}:\n{data.get('body', '')}",
        EventKind.acknowledged: f"Acknowledged by {actor}",
        EventKind.resolved: f"Resolved by {actor}",
        EventKind.reopened: f"Reopened by {actor}{reason}",
    }
    return lines.get(event.kind, f"{event.kind.replace('_', ' ')} by {actor}")
