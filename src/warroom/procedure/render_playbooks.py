"""The SOP document's playbooks, actions and regulatory deadlines, each rule saying how it is enforced."""

from __future__ import annotations

from warroom.procedure.domain import describe_target
from warroom.procedure.playbook_schema import Action, Deadline, Playbook, PlaybookStep
from warroom.procedure.schemas import Procedure


def _step_line(procedure: Procedure, number: int, step: PlaybookStep) -> str:
    facts = []
    if step.role:
        facts.append(procedure.role(step.role).name)
    if step.due:
        facts.append(f"due {describe_target(step.due)} after declaring")
    if step.gate:
        facts.append("GATE: the incident cannot move past this phase until it is done or waived (enforced)")
    elif step.mandatory:
        facts.append("mandatory")
    if step.action:
        facts.append(f"action: {procedure.action(step.action).name}")
    line = f"{number}. {step.title}" + (f" ({'; '.join(facts)})" if facts else "")
    if step.evidence:
        line += f"\n   Record: {step.evidence}"
    if step.guidance:
        line += f"\n   Why: {step.guidance}"
    return line


def playbook_section(procedure: Procedure, playbook: Playbook) -> list[str]:
    lines = [f"### {playbook.name}", ""]
    lines += [playbook.description, ""] if playbook.description else []
    users = [t.name for t in procedure.incident_types if t.playbook == playbook.id]
    lines += [f"Started by: {', '.join(users) or 'no incident type'}.", ""]
    number = 0
    for phase in procedure.phases:
        steps = [s for s in playbook.steps if s.phase == phase.id]
        if steps:
            lines += [f"{phase.name}:", ""]
            for step in steps:
                number += 1
                lines.append(_step_line(procedure, number, step))
            lines.append("")
    lines += [f"- [{link.title}]({link.url})" for link in playbook.references]
    return [*lines, ""] if playbook.references else lines


def _action_line(action: Action) -> str:
    runs = (
        "runs when its step is started"
        if action.pre_approved
        else "runs once the incident commander approves"
    )
    where = f"POST {action.url}, signed" if action.url else "not automated here (no url): done by hand"
    return f"- **{action.name}** (`{action.id}`): {action.description} Pre-approved: " + (
        f"{'yes' if action.pre_approved else 'no'}; {runs}; {where}."
    )


def actions_section(procedure: Procedure) -> list[str]:
    if not procedure.actions:
        return []
    lines = ["## Playbook actions", ""]
    lines += [
        "Each run is a durable job with its request, answer and result on the incident's timeline.",
        "",
    ]
    return [*lines, *(_action_line(action) for action in procedure.actions), ""]


def deadline_lines(deadline: Deadline) -> list[str]:
    starts = "awareness (detection)" if deadline.starts == "detected" else "the declaration"
    stop = f"the step {deadline.step!r} is done" if deadline.step else "the `notified` milestone is recorded"
    who = f" ({deadline.authority})" if deadline.authority else ""
    return [
        f"- {deadline.name}{who}: within {describe_target(deadline.within)} of {starts}; shown as a clock "
        f"on the incident (enforced as a clock, not a block) that stops when {stop}."
    ]
