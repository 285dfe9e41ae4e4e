"""What the software does with each rule of the procedure file: enforced (and by which modules), or advisory
(shown, never checked). `warroom procedure render` prints this table, so a rule never looks enforced when it
is not; tests/unit/test_enforcement.py checks that every field of the procedure is in it and that each
enforcing module really reads its field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    section: str  # the model the field belongs to: severity, phase, incident_type, step, action, ...
    field: str
    enforced: bool
    how: str
    by: tuple[str, ...] = ()  # modules under warroom whose source reads the field


def _on(section: str, field: str, how: str, *by: str) -> Rule:
    return Rule(section, field, True, how, by)


def _advisory(section: str, field: str, how: str) -> Rule:
    return Rule(section, field, False, how)


RULES: tuple[Rule, ...] = (
    _on(
        "severity",
        "response_target",
        "a clock from declaration, stopped by the first acknowledgement",
        "procedure.domain",
    ),
    _on(
        "severity",
        "page",
        "declaring or raising to it pages each target once, through the escalation engine",
        "paging.declared",
    ),
    _on(
        "severity",
        "update_cadence",
        "the communications lead is reminded when a stakeholder update is due",
        "incidents.domain",
        "comms.reminders",
    ),
    _on(
        "severity",
        "status_page",
        "declaring or raising to it stages a status-page draft on the affected services' components for "
        "the communications lead to publish (nothing public without a person); a page still showing them "
        "operational after a cadence is flagged to the communications lead",
        "statuspage.drafts",
        "statuspage.silence",
    ),
    _on(
        "severity",
        "required_roles",
        "resolving is refused until each is held or waived with a reason",
        "incidents.domain",
    ),
    _on(
        "severity", "review_required", "closing is refused until the review is published", "incidents.domain"
    ),
    _on("severity", "chat_channel", "declaring opens a chat war room", "chat.outbox"),
    _on(
        "severity",
        "contain_target",
        "the commander is paged at 80%; a miss pages the breach targets",
        "incidents.clocks",
    ),
    _on(
        "severity",
        "resolve_target",
        "the commander is paged at 80%; a miss pages the breach targets",
        "incidents.clocks",
    ),
    _on(
        "severity",
        "breach",
        "paged once per incident when a contain or resolve target is missed",
        "paging.clocks",
    ),
    _on(
        "role",
        "multiple",
        "a second holder is refused unless the role allows several",
        "incidents.collaboration",
    ),
    _on("phase", "next", "moves to any other phase are refused", "incidents.domain"),
    _on(
        "phase",
        "status",
        "entering it sets the incident's status (active, resolved, closed)",
        "incidents.domain",
    ),
    _on("phase", "milestones", "entering it records them (metrics come from these)", "incidents.domain"),
    _on(
        "phase",
        "entry_roles",
        "entering is refused until they are held, where the severity requires them",
        "incidents.domain",
    ),
    _on(
        "phase",
        "exit_criteria",
        "a checklist on the incident; moving on with any unticked needs a reason",
        "incidents.playbook_rules",
    ),
    _advisory(
        "phase", "responsible", "shown at the top of the incident as the phase's owner; not a permission"
    ),
    _advisory("incident_type", "default_severity", "offered as the usual severity when declaring"),
    _on(
        "incident_type",
        "restricted",
        "only participants, the security team and admins see these incidents",
        "incidents.service",
    ),
    _on("incident_type", "playbook", "declaring starts it as tasks", "incidents.playbooks"),
    _on("incident_type", "review_template", "the review asks its questions", "reviews.service"),
    _on(
        "incident_type",
        "deadlines",
        "clocks on the incident from awareness, stopped by their step (not a block)",
        "incidents.playbook_views",
        "incidents.playbook_rules",
    ),
    _on("step", "phase", "the task belongs to it; a gate holds the incident there", "incidents.playbooks"),
    _on(
        "step",
        "gate",
        "the incident cannot move past the step's phase until it is done or waived",
        "incidents.playbook_rules",
        "incidents.playbooks",
    ),
    _on("step", "action", "starting the step runs it (or asks the commander)", "actions.service"),
    _advisory("step", "mandatory", "shown as required; the commander's judgement, not a block (gates block)"),
    _advisory("step", "role", "shown as who does it; anyone on the incident may"),
    _advisory("step", "due", "shown as the task's due time; nobody is paged for it"),
    _advisory("step", "evidence", "asked for when the step is marked done"),
    _on(
        "action", "url", "where the signed call goes; without one the step is done by hand", "actions.service"
    ),
    _on(
        "action",
        "pre_approved",
        "runs when its step starts; otherwise the commander approves it",
        "actions.service",
    ),
    _on("action", "timeout", "each call gives up after it, then is tried again", "actions.service"),
    _on("deadline", "within", "the clock's length", "incidents.playbook_rules"),
    _on("deadline", "starts", "when the clock starts: detection or declaration", "incidents.playbook_rules"),
    _on("deadline", "step", "the step whose completion stops the clock", "incidents.playbook_rules"),
    _on(
        "procedure",
        "business_hours",
        "next-business-day response targets end at its close",
        "procedure.domain",
    ),
    _on("procedure", "initial_phase", "every incident starts there", "incidents.service"),
    _on("procedure", "security_team", "its members see every restricted incident", "incidents.visibility"),
    _on("procedure", "drill_every_days", "teams past it are reminded weekly", "preparedness.reminders"),
    _on(
        "procedure",
        "recurrence_watch",
        "an alert on a recovered incident's services within it links to that incident and pages its "
        "commander; no rule opens a new incident for it",
        "alerts.rules.triage",
    ),
    _on(
        "procedure",
        "communications",
        "each stakeholder update goes to its audiences in their templates",
        "comms.service",
    ),
    _advisory("procedure", "currency", "the unit of services' cost per minute in reviews"),
)


def rules_of(section: str) -> list[Rule]:
    return [rule for rule in RULES if rule.section == section]
