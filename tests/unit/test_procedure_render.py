"""The Markdown SOP rendered from a procedure."""

from __future__ import annotations

import textwrap

from warroom.procedure.loader import load_default_procedure, load_procedure_text
from warroom.procedure.render import render_markdown

LOADED = load_default_procedure()
MARKDOWN = render_markdown(LOADED)
LINES = MARKDOWN.splitlines()


def section(title: str) -> str:
    """The text of a ``## title`` section, up to the next level-2 heading."""
    start = LINES.index(f"## {title}")
    end = next((i for i in range(start + 1, len(LINES)) if LINES[i].startswith("## ")), len(LINES))
    return "\n".join(LINES[start:end])


def test_title_names_procedure_version_and_short_hash() -> None:
    assert LINES[0] == "# Default incident procedure"
    assert "Version 2026.1" in MARKDOWN
    assert f"`{LOADED.version_hash[:12]}`" in MARKDOWN


def test_severity_table_rows() -> None:
    assert (
        "| Severity | Name | Response target | Updates every | Status page draft | Required roles |" in LINES
    )
    expected_rows = [
        "| P1 | Critical | 15 minutes | 30 minutes | yes | "
        "Incident commander, Communications lead, Technical lead |",
        "| P2 | High | 30 minutes | 1 hour | yes | Incident commander, Technical lead |",
        "| P3 | Medium | 4 hours | 4 hours | no | Incident commander |",
        "| P4 | Low | next business day | as needed | no | none |",
    ]
    rows = [line for line in LINES if line.startswith("| P")]
    assert rows == expected_rows


def test_severity_sections_list_examples_paging_and_review() -> None:
    p1 = MARKDOWN.split("### P1 Critical", 1)[1].split("### P2", 1)[0]
    for example in LOADED.procedure.severity("P1").examples:
        assert f"- {example}" in p1
    assert (
        "Who is paged when it is declared or raised to P1 (enforced, once each): each affected service's "
        "escalation policy, whoever is on call for schedule incident-commander."
    ) in p1
    assert (
        "Required roles before it resolves (enforced; the incident commander may waive one with a reason): "
        "Incident commander, Communications lead, Technical lead."
    ) in p1
    assert "Post-incident review: required before closing." in p1
    p4 = MARKDOWN.split("### P4 Low", 1)[1]
    assert "Post-incident review: optional." in p4
    assert "(enforced, once each): nobody." in p4
    assert "Chat war room: a channel opens when it is declared." in p1
    assert "Chat war room: none (the web UI and CLI)." in p4


def test_roles_say_how_many_people_hold_them() -> None:
    roles = section("Roles")
    technical = roles.split("### Technical lead", 1)[1].split("###", 1)[0]
    assert "Held by several people at a time." in technical
    commander = roles.split("### Incident commander", 1)[1].split("###", 1)[0]
    assert "Held by one person at a time." in commander
    for responsibility in LOADED.procedure.role("scribe").responsibilities:
        assert f"- {responsibility}" in roles


def test_phases_in_order_with_exit_criteria_checklists_and_next_names() -> None:
    phases = section("Phases")
    headings = [line for line in phases.splitlines() if line.startswith("### ")]
    assert headings == [
        "### 1. Triage (initial phase)",
        "### 2. Containment",
        "### 3. Eradication",
        "### 4. Recovery",
        "### 5. Review",
        "### 6. Closed",
    ]
    for phase in LOADED.procedure.phases:
        for criterion in phase.exit_criteria:
            assert f"- [ ] {criterion}" in phases
    assert "Next: Containment, Recovery, Review, Closed." in phases
    assert "Next: Review, Closed, Containment." in phases
    containment = phases.split("### 2. Containment", 1)[1].split("### 3.", 1)[0]
    assert "Assign before entering (when the severity requires them): Incident commander." in containment


def test_a_section_per_incident_type_with_numbered_playbook() -> None:
    types = section("Incident types")
    for incident_type in LOADED.procedure.incident_types:
        body = types.split(f"### {incident_type.name}\n", 1)[1].split("\n### ", 1)[0]
        if isinstance(incident_type.playbook, str):
            named = LOADED.procedure.playbook_for(incident_type.id)
            assert named is not None and f"Playbook: {named.name} (below)" in body
            continue
        for number, step in enumerate(incident_type.playbook, start=1):
            assert f"{number}. {step}" in body
    breach = types.split("### Data breach\n", 1)[1].split("\n### ", 1)[0]
    assert (
        "Notify the supervisory authority (GDPR art. 33)" in breach and "within 3 days of awareness" in breach
    )
    security = types.split("### Security incident", 1)[1].split("\n### ", 1)[0]
    assert "Restricted" in security
    assert "Default severity: P1 Critical." in security


def test_each_playbook_lists_its_steps_by_phase_saying_which_rules_are_enforced() -> None:
    playbooks = section("Playbooks")
    ransomware = playbooks.split("### Ransomware\n", 1)[1].split("\n### ", 1)[0]
    containment = ransomware.split("Containment:\n", 1)[1].split("Eradication:", 1)[0]
    assert (
        "2. Isolate affected hosts from the network; do not power them down (Technical lead; due 30 minutes"
        in containment
    )
    assert (
        "GATE: the incident cannot move past this phase until it is done or waived (enforced)" in containment
    )
    assert "action: Isolate host" in containment and "Record: Which hosts were isolated" in containment
    for playbook in LOADED.procedure.playbooks:
        assert f"### {playbook.name}\n" in playbooks
        assert all(step.title in playbooks for step in playbook.steps)
    actions = section("Playbook actions")
    assert (
        "**Isolate host** (`isolate_host`)" in actions
        and "not automated here (no url): done by hand" in actions
    )
    assert "runs once the incident commander approves" in actions


def test_business_hours_section() -> None:
    hours = section("Business hours")
    assert "- Days: Monday, Tuesday, Wednesday, Thursday, Friday" in hours
    assert "- Hours: 09:00-17:00" in hours
    assert "- Time zone: UTC" in hours
    assert "- Holidays: none" in hours


def test_table_cells_escape_pipes_and_holidays_are_listed() -> None:
    text = textwrap.dedent(
        """\
        name: Small
        version: "7"
        business_hours: {timezone: Europe/Berlin, start: "08:00", end: "16:30", holidays: [2026-12-25]}
        severities:
          - {id: SEV1, name: "Bad | worse", response_target: 1h30m, update_cadence: 2h}
        phases:
          - {id: open, name: Open, next: [done]}
          - {id: done, name: Done, status: closed}
        initial_phase: open
        """
    )
    markdown = render_markdown(load_procedure_text(text))
    assert "| SEV1 | Bad \\| worse | 1 hour 30 minutes | 2 hours | no | none |" in markdown.splitlines()
    assert "- Holidays: 2026-12-25" in markdown
    assert "- Hours: 08:00-16:30" in markdown
    assert "Next: nothing (final phase)." in markdown


def test_render_is_deterministic() -> None:
    assert render_markdown(load_default_procedure()) == MARKDOWN
