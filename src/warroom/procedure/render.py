"""Render a loaded procedure as a Markdown standard operating procedure (SOP).

The output is meant to be printed, pinned in a wiki or read during an incident, so ids are
translated to names and durations are spelled out.
"""

from __future__ import annotations

from collections.abc import Iterable

from warroom.procedure.comms_schema import SAMPLE_CONTEXT, TEMPLATES, UpdateTemplate
from warroom.procedure.domain import WEEKDAYS, describe_target
from warroom.procedure.enforcement import RULES
from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.render_playbooks import actions_section, deadline_lines, playbook_section
from warroom.procedure.schemas import ON_CALL, BusinessHours, IncidentType, Phase, Procedure, Role, Severity

_DAY_NAMES = dict(
    zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)


def _cell(text: str) -> str:
    # A pipe or newline inside a table cell would break the table.
    return text.replace("|", "\\|").replace("\n", " ")


def _bullets(items: Iterable[str], prefix: str = "- ") -> list[str]:
    return [f"{prefix}{item}" for item in items]


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _role_names(procedure: Procedure, role_ids: Iterable[str]) -> str:
    return ", ".join(procedure.role(role_id).name for role_id in role_ids) or "none"


def _severity_table(procedure: Procedure) -> list[str]:
    lines = [
        "| Severity | Name | Response target | Updates every | Status page draft | Required roles |",
        "|---|---|---|---|---|---|",
    ]
    for severity in procedure.severities:
        cadence = describe_target(severity.update_cadence) if severity.update_cadence else "as needed"
        cells = [
            severity.id,
            severity.name,
            describe_target(severity.response_target),
            cadence,
            _yes_no(severity.status_page),
            _role_names(procedure, severity.required_roles),
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return lines


def _severity_section(procedure: Procedure, severity: Severity) -> list[str]:
    lines = [f"### {severity.id} {severity.name}", ""]
    if severity.description:
        lines += [severity.description, ""]
    if severity.examples:
        lines += ["Examples:", "", *_bullets(severity.examples), ""]
    paged = ", ".join(target.label for target in severity.page) or "nobody"
    when = f"when it is declared or raised to {severity.id} (enforced, once each)"
    lines += [f"Who is paged {when}: {paged}.", ""]
    lines += _target_lines(severity)
    if severity.required_roles:
        lines += [
            "Required roles before it resolves (enforced; the incident commander may waive one with a "
            f"reason): {_role_names(procedure, severity.required_roles)}.",
            "",
        ]
    review = "required before closing" if severity.review_required else "optional"
    lines += [f"Post-incident review: {review}.", ""]
    room = "a channel opens when it is declared" if severity.chat_channel else "none (the web UI and CLI)"
    lines += [f"Chat war room: {room}.", ""]
    return lines


def _target_lines(severity: Severity) -> list[str]:
    targets = (("contain", severity.contain_target), ("resolve", severity.resolve_target))
    spans = [f"{name} within {describe_target(t)}" for name, t in targets if t]
    if not spans:
        return []
    breach = ", ".join(t.label for t in severity.breach) or "nobody more"
    return [
        f"Targets from declaring: {' and '.join(spans)} (enforced: the incident commander is paged at 80% of "
        f"each; a missed one pages {breach}, once per incident; these clocks never pause).",
        "",
    ]


def _role_section(role: Role) -> list[str]:
    holders = "several people" if role.multiple else "one person"
    lines = [f"### {role.name}", "", f"Held by {holders} at a time.", ""]
    if role.description:
        lines += [role.description, ""]
    if role.responsibilities:
        lines += ["Responsibilities:", "", *_bullets(role.responsibilities), ""]
    return lines


def _phase_section(procedure: Procedure, number: int, phase: Phase) -> list[str]:
    initial = " (initial phase)" if phase.id == procedure.initial_phase else ""
    lines = [f"### {number}. {phase.name}{initial}", ""]
    if phase.description:
        lines += [phase.description, ""]
    lines += [f"Incident status: {phase.status}.", ""]
    if phase.milestones:
        lines += [f"Entering this phase records: {', '.join(phase.milestones)}.", ""]
    if phase.entry_roles:
        names = _role_names(procedure, phase.entry_roles)
        lines += [f"Assign before entering (when the severity requires them): {names}.", ""]
    if phase.responsible:
        who = "whoever acknowledged the incident" if phase.responsible == ON_CALL else None
        lines += [f"Responsible: {who or procedure.role(phase.responsible).name}.", ""]
    if phase.exit_criteria:
        lines += [
            "Exit criteria (a checklist on the incident; moving on with any unticked needs a reason, "
            "enforced):",
            "",
            *_bullets(phase.exit_criteria, "- [ ] "),
            "",
        ]
    next_names = ", ".join(procedure.phase(phase_id).name for phase_id in phase.next)
    lines += [f"Next: {next_names or 'nothing (final phase)'}.", ""]
    return lines


def _type_section(procedure: Procedure, incident_type: IncidentType) -> list[str]:
    lines = [f"### {incident_type.name}", ""]
    if incident_type.description:
        lines += [incident_type.description, ""]
    if incident_type.default_severity:
        severity = procedure.severity(incident_type.default_severity)
        lines += [f"Default severity: {severity.id} {severity.name}.", ""]
    if incident_type.restricted:
        team = f", the {procedure.security_team!r} team" if procedure.security_team else ""
        lines += [
            f"Restricted: only participants can see these incidents (whoever holds or held a role on one, "
            f"whoever its commander adds{team} and admins); to everyone else they do not exist.",
            "",
        ]
    if isinstance(incident_type.playbook, str):
        name = procedure.playbook_for(incident_type.id)
        lines += [f"Playbook: {name.name if name else incident_type.playbook} (below), started as tasks.", ""]
    elif incident_type.playbook:
        steps = [f"{i}. {step}" for i, step in enumerate(incident_type.playbook, start=1)]
        lines += ["Playbook (started as tasks, none gated):", "", *steps, ""]
    if incident_type.deadlines:
        lines += ["Deadlines:", ""]
        for deadline in incident_type.deadlines:
            lines += deadline_lines(deadline)
        lines.append("")
    return lines


def _review_templates_section(procedure: Procedure) -> list[str]:
    if not procedure.review_templates:
        return []
    lines = ["## Post-incident review templates", ""]
    for template in procedure.review_templates:
        users = [t.name for t in procedure.incident_types if procedure.review_template_for(t.id) == template]
        lines += [f"### {template.name}", "", f"Used for: {', '.join(users) or 'no incident type'}.", ""]
        lines += [*_bullets(template.questions), ""] if template.questions else []
    return lines


def _communications_section(procedure: Procedure) -> list[str]:
    comms = procedure.communications
    if not comms.audiences:
        return []
    lines = ["## Stakeholder communications", ""]
    lines += [
        "Each stakeholder update is sent to every audience below that hears about its severity, in that",
        "audience's own template. Updates are due at the severity's update cadence.",
        "",
    ]
    for audience in comms.audiences:
        heard = ", ".join(audience.severities) or "every severity"
        kind = "internal" if audience.internal else "external: no internal links or responder names"
        lines += [f"### {audience.name} (`{audience.id}`)", ""]
        lines += [audience.description, ""] if audience.description else []
        lines += [f"- Hears about: {heard}", f"- Audience: {kind}"]
        lines += [""]
        for template, severities in _templates_of(procedure, audience.id):
            lines += [f"For {', '.join(severities)}, a sample:", "", "```text", _sample(template), "```", ""]
    names = ", ".join(f"`{name}`" for name in _template_names())
    return [*lines, f"Template names: {names}.", ""]


def _templates_of(procedure: Procedure, audience_id: str) -> list[tuple[UpdateTemplate, list[str]]]:
    """Each template the audience uses, with the severities it serves (most severe first)."""
    heard = procedure.communications.audience(audience_id).severities or procedure.severity_ids()
    used: list[tuple[UpdateTemplate, list[str]]] = []
    for severity in heard:
        template = procedure.communications.template_for(audience_id, severity)
        if template is None:
            continue
        for known, severities in used:
            if known is template:
                severities.append(severity)
                break
        else:
            used.append((template, [severity]))
    return used


def _sample(template: UpdateTemplate) -> str:
    subject = TEMPLATES.from_string(template.subject).render(SAMPLE_CONTEXT)
    body = TEMPLATES.from_string(template.body).render(SAMPLE_CONTEXT)
    return f"Subject: {' '.join(subject.split())}\n\n{body.strip()}"


def _template_names() -> list[str]:
    names = []
    for key, value in SAMPLE_CONTEXT.items():
        names += [f"{key}.{inner}" for inner in value] if isinstance(value, dict) else [key]
    return names


def _business_hours_section(hours: BusinessHours) -> list[str]:
    days = ", ".join(_DAY_NAMES[day] for day in hours.days)
    span = f"{hours.start.isoformat('minutes')}-{hours.end.isoformat('minutes')}"
    lines = [f"- Days: {days}", f"- Hours: {span}", f"- Time zone: {hours.timezone}"]
    holidays = ", ".join(day.isoformat() for day in hours.holidays)
    lines.append(f"- Holidays: {holidays or 'none'}")
    return [*lines, ""]


def _enforcement_section() -> list[str]:
    """Every rule of this file and what the software does with it: nothing here is text that only looks
    enforced."""
    lines = ["## What the software enforces", "", "| Rule | Enforced | What happens |", "|---|---|---|"]
    for rule in RULES:
        lines.append(
            f"| {rule.section}.{rule.field} | {'yes' if rule.enforced else 'advisory'} | {_cell(rule.how)} |"
        )
    return [*lines, ""]


def render_markdown(loaded: LoadedProcedure) -> str:
    """The whole procedure as one Markdown document."""
    procedure = loaded.procedure
    lines = [
        f"# {procedure.name}",
        "",
        f"Version {procedure.version} (`{loaded.short_hash}`)",
        "",
        "## Severities",
        "",
        *_severity_table(procedure),
        "",
    ]
    for severity in procedure.severities:
        lines += _severity_section(procedure, severity)
    lines += ["## Roles", ""]
    for role in procedure.roles:
        lines += _role_section(role)
    lines += ["## Phases", ""]
    for number, phase in enumerate(procedure.phases, start=1):
        lines += _phase_section(procedure, number, phase)
    lines += ["## Incident types", ""]
    for incident_type in procedure.incident_types:
        lines += _type_section(procedure, incident_type)
    lines += ["## Playbooks", ""] if procedure.playbooks else []
    for playbook in procedure.playbooks:
        lines += playbook_section(procedure, playbook)
    lines += actions_section(procedure)
    lines += _review_templates_section(procedure)
    lines += _communications_section(procedure)
    lines += ["## Business hours", "", *_business_hours_section(procedure.business_hours)]
    lines += _enforcement_section()
    return "\n".join(lines).rstrip("\n") + "\n"
