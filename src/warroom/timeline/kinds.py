"""Every kind of timeline event, in one typed table: `record` takes an `EventKind`, so a new kind is added
here (and described in timeline/describe.py) on purpose, never typed as a bare string at a call site.

Values are the strings stored in `timeline_events.kind` and hashed into the chain: never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    # Milestones: metrics are computed from these, never typed in.
    impact_started = "impact_started"
    detected = "detected"
    declared = "declared"
    acknowledged = "acknowledged"
    contained = "contained"
    mitigated = "mitigated"
    resolved = "resolved"
    closed = "closed"
    # Security milestones. The first malicious activity is an estimate: recorded again, the newest stands.
    compromised = "compromised"
    eradicated = "eradicated"
    recovered = "recovered"
    notified = "notified"  # regulators or the people affected were told
    # The incident itself.
    updated = "updated"
    severity_changed = "severity_changed"
    phase_changed = "phase_changed"
    reopened = "reopened"
    services_changed = "services_changed"
    role_assigned = "role_assigned"
    role_unassigned = "role_unassigned"
    roles_waived = "roles_waived"
    task_added = "task_added"
    task_done = "task_done"
    task_updated = "task_updated"
    # Playbook steps, their gates and actions, and the phases' exit checklists.
    task_started = "task_started"
    task_waived = "task_waived"
    exit_check_ticked = "exit_check_ticked"
    exit_check_unticked = "exit_check_unticked"
    action_requested = "action_requested"
    action_approved = "action_approved"
    action_succeeded = "action_succeeded"
    action_failed = "action_failed"
    # Observables (indicators), and the assets an incident touches.
    observable_added = "observable_added"
    observable_changed = "observable_changed"
    observable_removed = "observable_removed"
    asset_linked = "asset_linked"
    # The contain and resolve targets: the commander warned at 80%, the breach targets paged when missed.
    target_warning = "target_warning"
    target_missed = "target_missed"
    # Evidence and its chain of custody.
    evidence_added = "evidence_added"
    evidence_downloaded = "evidence_downloaded"
    evidence_handed_over = "evidence_handed_over"
    link_added = "link_added"
    link_removed = "link_removed"
    # Who may see a restricted incident, and who looked (the access log).
    restriction_changed = "restriction_changed"
    participant_added = "participant_added"
    accessed = "accessed"
    # Communication.
    note = "note"
    stakeholder_update = "stakeholder_update"
    update_reminder = "update_reminder"
    status_page_updated = "status_page_updated"
    status_page_drafted = "status_page_drafted"  # the procedure staged a draft for the communications lead
    status_page_silent = "status_page_silent"  # open past a cadence while its components show operational
    chat_channel_opened = "chat_channel_opened"
    chat_message = "chat_message"
    # A deploy or config change to one of its services while the incident is open.
    change_arrived = "change_arrived"
    # An alert on one of its services soon after it recovered (the procedure's recurrence_watch).
    recurrence = "recurrence"
    # A threat-intel indicator matched one of its observables or alerts (warroom.intel).
    intel_match = "intel_match"
    drill_ended = "drill_ended"  # its commander ended the drill: paging stopped, alerts resolved, closed
    # Alerts and paging.
    alert_attached = "alert_attached"
    alert_acknowledged = "alert_acknowledged"
    alert_unacknowledged = "alert_unacknowledged"
    alert_resolved = "alert_resolved"
    alert_triggered = "alert_triggered"
    paged = "paged"
    page_failed = "page_failed"
    page_requested = "page_requested"
    # The review.
    review_drafted = "review_drafted"
    review_edited = "review_edited"
    review_reviewer_added = "review_reviewer_added"
    review_published = "review_published"
    review_status_changed = "review_status_changed"
    action_item_added = "action_item_added"
    action_item_changed = "action_item_changed"


MILESTONE_KINDS: tuple[EventKind, ...] = (
    EventKind.impact_started,
    EventKind.detected,
    EventKind.declared,
    EventKind.acknowledged,
    EventKind.contained,
    EventKind.mitigated,
    EventKind.resolved,
    EventKind.closed,
    EventKind.compromised,
    EventKind.eradicated,
    EventKind.recovered,
    EventKind.notified,
)


def alert_kind(action: str) -> EventKind:
    """The incident's event for what happened to an attached alert ("acknowledged" -> alert_acknowledged)."""
    return EventKind(f"alert_{action}")
