"""Loading and validating procedure.yaml: the default file, hashing, and problem reporting."""

from __future__ import annotations

import textwrap
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from warroom.procedure.loader import (
    LoadedProcedure,
    ProcedureInvalid,
    ProcedureProblem,
    load_default_procedure,
    load_procedure_file,
    load_procedure_text,
)
from warroom.procedure.schemas import CONSISTENCY_ERROR, BusinessHours, Procedure, cross_check

MINIMAL = textwrap.dedent(
    """\
    name: Minimal
    version: "1"
    business_hours: {timezone: UTC, start: "09:00", end: "17:00"}
    severities:
      - {id: P1, name: Critical, response_target: 15m}
    phases:
      - {id: triage, name: Triage, next: [closed]}
      - {id: closed, name: Closed, status: closed}
    """
)


def line_of(text: str, needle: str) -> int:
    """1-based number of the single line containing ``needle`` (keeps expectations readable)."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} occurs on lines {hits}"
    return hits[0]


def problems_of(text: str) -> list[ProcedureProblem]:
    with pytest.raises(ProcedureInvalid) as info:
        load_procedure_text(text, source="proc.yaml")
    problems: list[ProcedureProblem] = info.value.problems
    return problems


def column_of(text: str, problem: ProcedureProblem, needle: str) -> int:
    """1-based column of ``needle`` on the line the problem points at."""
    assert problem.line is not None
    return text.splitlines()[problem.line - 1].index(needle) + 1


def by_path(problems: list[ProcedureProblem]) -> dict[str, ProcedureProblem]:
    mapping = {problem.path: problem for problem in problems}
    assert len(mapping) == len(problems), f"several problems share a path: {problems}"
    return mapping


# --- the shipped default ------------------------------------------------------------------------


def test_default_procedure_loads_with_expected_content() -> None:
    loaded = load_default_procedure()
    procedure = loaded.procedure
    assert loaded.source == "<default>"
    assert procedure.severity_ids() == ["P1", "P2", "P3", "P4"]
    assert procedure.role_ids() == ["incident_commander", "communications_lead", "technical_lead", "scribe"]
    assert procedure.phase_ids() == ["triage", "containment", "eradication", "recovery", "review", "closed"]
    assert procedure.type_ids()[:4] == ["outage", "degradation", "security", "data_loss"]
    assert {"ransomware", "phishing", "ddos", "credential_compromise", "data_breach"} <= set(
        procedure.type_ids()
    )
    assert procedure.initial_phase == "triage"
    assert [s.response_target for s in procedure.severities] == ["15m", "30m", "4h", "next_business_day"]
    assert procedure.severity("P1").required_roles == [
        "incident_commander",
        "communications_lead",
        "technical_lead",
    ]
    assert procedure.role("technical_lead").multiple is True
    assert procedure.incident_type("security").restricted is True
    assert procedure.incident_type("security").default_severity == "P1"
    assert procedure.phase("closed").status == "closed"
    assert procedure.phase("recovery").milestones == ["contained", "eradicated", "mitigated"]
    assert procedure.phase("containment").entry_roles == ["incident_commander"]
    assert procedure.business_hours.start == time(9) and procedure.business_hours.end == time(17)
    assert cross_check(procedure) == []


def test_version_hash_is_stable_and_ignores_comments_and_formatting() -> None:
    loaded = load_default_procedure()
    assert len(loaded.version_hash) == 64 and int(loaded.version_hash, 16) >= 0
    assert load_default_procedure().version_hash == loaded.version_hash

    text = loaded.text
    for needle in ('version: "2026.1"', "days: [mon, tue, wed, thu, fri]"):
        assert needle in text
    block_days = "days:\n    - mon\n    - tue\n    - wed\n    - thu\n    - fri"
    reformatted = text.replace('version: "2026.1"', "version: '2026.1'   # same label, other quotes")
    reformatted = reformatted.replace("days: [mon, tue, wed, thu, fri]", block_days)
    reformatted = "# A comment at the top changes nothing\n" + reformatted + "\n# and one at the end\n"
    assert reformatted != text
    again = load_procedure_text(reformatted)
    assert again.version_hash == loaded.version_hash
    assert again.text == reformatted


def test_version_hash_changes_when_a_target_changes() -> None:
    loaded = load_default_procedure()
    assert loaded.text.count("response_target: 15m") == 1
    changed = load_procedure_text(loaded.text.replace("response_target: 15m", "response_target: 10m"))
    assert changed.procedure.severity("P1").response_target == "10m"
    assert changed.version_hash != loaded.version_hash


def test_load_procedure_file_reads_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "procedure.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    loaded = load_procedure_file(path)
    assert isinstance(loaded, LoadedProcedure)
    assert loaded.source == str(path)
    assert loaded.procedure.name == "Minimal"
    assert loaded.version_hash == load_procedure_text(MINIMAL).version_hash


def test_missing_file_is_a_single_problem(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ProcedureInvalid) as info:
        load_procedure_file(path)
    [problem] = info.value.problems
    assert problem.source == str(path)
    assert problem.line is None
    assert "cannot read" in problem.message
    assert str(info.value) == f"{path}: {problem.message}"


# --- reporting every problem --------------------------------------------------------------------

BROKEN = textwrap.dedent(
    """\
    name: Broken
    version: "1"
    business_hours:
      timezone: UTC
      start: "09:00"
      end: "17:00"
    severities:
      - id: P1
        name: Critical
        colour: red
        response_target: 15 minutes
      - id: P2
        name: High
        response_target: 30m
        required_roles: [commander, ghost]
      - id: P1
        name: Duplicate
        response_target: 1h
    roles:
      - id: commander
        description: The name is missing
    phases:
      - id: triage
        name: Triage
        next: [closed, nowhere]
      - id: closed
        name: Closed
        status: closed
      - id: orphan
        name: Orphan
        next: [closed]
    """
)


def test_broken_file_reports_every_problem_with_its_line() -> None:
    problems = by_path(problems_of(BROKEN))
    expected = {
        "severities[0].colour": line_of(BROKEN, "colour: red"),
        "severities[0].response_target": line_of(BROKEN, "15 minutes"),
        "severities[1].required_roles[1]": line_of(BROKEN, "[commander, ghost]"),
        "severities[2].id": line_of(BROKEN, "name: Duplicate") - 1,
        "roles[0].name": line_of(BROKEN, "id: commander"),
        "phases[0].next[1]": line_of(BROKEN, "[closed, nowhere]"),
        "phases[2].id": line_of(BROKEN, "id: orphan"),
    }
    assert {path: problem.line for path, problem in problems.items()} == expected
    assert all(problem.source == "proc.yaml" for problem in problems.values())

    assert "unknown key 'colour'" in problems["severities[0].colour"].message
    assert "invalid duration '15 minutes'" in problems["severities[0].response_target"].message
    assert "unknown role 'ghost'" in problems["severities[1].required_roles[1]"].message
    assert "duplicate severity id 'P1'" in problems["severities[2].id"].message
    assert "'name'" in problems["roles[0].name"].message and "missing" in problems["roles[0].name"].message
    assert "unknown phase 'nowhere'" in problems["phases[0].next[1]"].message
    assert "cannot be reached" in problems["phases[2].id"].message


def test_problem_columns_point_at_the_offending_element() -> None:
    problems = by_path(problems_of(BROKEN))
    ghost = problems["severities[1].required_roles[1]"]
    assert ghost.column == column_of(BROKEN, ghost, "ghost")
    target = problems["severities[0].response_target"]
    assert target.column == column_of(BROKEN, target, "15 minutes")
    unknown_key = problems["severities[0].colour"]
    assert unknown_key.column == column_of(BROKEN, unknown_key, "colour")


def test_problems_render_as_file_line_column_path_message() -> None:
    with pytest.raises(ProcedureInvalid) as info:
        load_procedure_text(BROKEN, source="proc.yaml")
    rendered = str(info.value).splitlines()
    assert len(rendered) == len(info.value.problems) == 7
    colour_line = line_of(BROKEN, "colour: red")
    assert f"proc.yaml:{colour_line}:5: severities[0].colour: unknown key 'colour'" in "\n".join(rendered)
    assert str(ProcedureProblem("f.yaml", 3, 7, "a.b[0]", "bad")) == "f.yaml:3:7: a.b[0]: bad"


def test_yaml_syntax_error_reports_line_and_column() -> None:
    text = 'name: Broken\nversion: "1"\nseverities: [P1, P2\nphases: []\n'
    [problem] = problems_of(text)
    assert problem.line == 4
    assert problem.column == 7
    assert problem.message.startswith("YAML syntax error")


def test_duplicate_yaml_key_is_reported_at_the_second_key() -> None:
    [problem] = problems_of("name: One\nversion: '1'\nname: Two\n")
    assert problem.line == 3
    assert "duplicate key" in problem.message


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("just words\n", "string")])
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    [problem] = problems_of(text)
    assert problem.line == 1
    assert f"not a {kind}" in problem.message


def test_empty_file_is_a_problem() -> None:
    [problem] = problems_of("# nothing but a comment\n")
    assert "empty" in problem.message


def test_unquoted_numeric_version_gets_a_hint() -> None:
    problems = by_path(problems_of(MINIMAL.replace('version: "1"', "version: 2026.1")))
    assert list(problems) == ["version"]
    assert problems["version"].line == 2
    assert "quotes" in problems["version"].message


def test_missing_top_level_fields_point_at_the_document_start() -> None:
    problems = by_path(problems_of("name: Only a name\n"))
    assert set(problems) == {"version", "business_hours", "severities", "phases"}
    assert {problem.line for problem in problems.values()} == {1}


def test_nested_problems_in_business_hours_are_located() -> None:
    text = MINIMAL.replace(
        'business_hours: {timezone: UTC, start: "09:00", end: "17:00"}',
        'business_hours: {timezone: Mars/Olympus, start: "17:00", end: "09:00", days: [mon, fun]}',
    )
    problems = by_path(problems_of(text))
    assert set(problems) == {"business_hours.timezone", "business_hours.end", "business_hours.days[1]"}
    assert {problem.line for problem in problems.values()} == {3}
    assert "unknown time zone 'Mars/Olympus'" in problems["business_hours.timezone"].message
    assert "after start" in problems["business_hours.end"].message


def test_cross_checks_on_an_otherwise_valid_file() -> None:
    text = MINIMAL.replace("status: closed", "status: resolved").replace(
        "next: [closed]", "next: [triage, closed]"
    )
    text += "initial_phase: start\nincident_types:\n  - {id: outage, name: Outage, default_severity: P7}\n"
    problems = by_path(problems_of(text))
    expected = {"phases", "phases[0].next[0]", "initial_phase", "incident_types[0].default_severity"}
    assert set(problems) == expected
    assert "status 'closed'" in problems["phases"].message
    assert "itself" in problems["phases[0].next[0]"].message
    assert problems["initial_phase"].line == line_of(text, "initial_phase: start")
    assert "unknown severity 'P7'" in problems["incident_types[0].default_severity"].message


# --- the models on their own -------------------------------------------------------------------


def test_model_validate_alone_rejects_an_inconsistent_procedure() -> None:
    data = load_default_procedure().procedure.model_dump()
    data["severities"][0]["required_roles"].append("janitor")
    with pytest.raises(ValidationError) as info:
        Procedure.model_validate(data)
    [error] = info.value.errors()
    assert error["type"] == CONSISTENCY_ERROR
    [(loc, message)] = error["ctx"]["problems"]
    assert loc == ("severities", 0, "required_roles", 3)
    assert message.startswith("unknown role 'janitor'")
    assert "janitor" in str(info.value)


def test_lookup_helpers_raise_key_error_for_unknown_ids() -> None:
    procedure = load_default_procedure().procedure
    assert procedure.severity("P3").name == "Medium"
    assert procedure.phase("review").status == "resolved"
    for lookup in (procedure.severity, procedure.role, procedure.phase, procedure.incident_type):
        with pytest.raises(KeyError):
            lookup("does_not_exist")


def test_models_are_frozen() -> None:
    procedure = load_default_procedure().procedure
    with pytest.raises(ValidationError):
        procedure.name = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Nowhere/Town"}, "timezone"),
        ({"start": "18:00"}, "end"),
        ({"days": []}, "days"),
        ({"days": ["mon", "mon"]}, "days"),
        ({"start": "09:00+02:00"}, "start"),
    ],
)
def test_business_hours_validation(changes: dict[str, object], field: str) -> None:
    data: dict[str, object] = {"timezone": "UTC", "start": "09:00", "end": "17:00", **changes}
    with pytest.raises(ValidationError) as info:
        BusinessHours.model_validate(data)
    assert [error["loc"] for error in info.value.errors()] == [(field,)]


def test_business_hours_default_to_the_working_week() -> None:
    hours = BusinessHours.model_validate({"timezone": "Europe/Berlin", "start": "08:30", "end": "16:00"})
    assert hours.days == ["mon", "tue", "wed", "thu", "fri"]
    assert hours.holidays == []


def test_keys_from_a_yaml_merge_point_at_the_merging_mapping() -> None:
    text = MINIMAL.replace(
        "  - {id: P1, name: Critical, response_target: 15m}",
        "  - <<: {name: Critical, response_target: 15m, colour: red}\n    id: P1",
    )
    problems = by_path(problems_of(text))
    assert list(problems) == ["severities[0].colour"]
    assert problems["severities[0].colour"].line == line_of(text, "<<:")


def test_impossible_date_is_a_problem_not_a_crash() -> None:
    text = MINIMAL.replace('end: "17:00"}', 'end: "17:00", holidays: [2026-13-01]}')
    [problem] = problems_of(text)
    assert "month must be in 1..12" in problem.message


def test_bare_number_as_time_is_rejected_with_a_hint() -> None:
    problems = by_path(problems_of(MINIMAL.replace('start: "09:00"', "start: 9")))
    assert list(problems) == ["business_hours.start"]
    assert "HH:MM" in problems["business_hours.start"].message


def test_entry_roles_must_be_defined_roles() -> None:
    text = MINIMAL.replace("next: [closed]}", "next: [closed], entry_roles: [boss]}")
    problems = by_path(problems_of(text))
    assert list(problems) == ["phases[0].entry_roles[0]"]
    assert problems["phases[0].entry_roles[0]"].line == line_of(text, "entry_roles: [boss]")
    assert "unknown role 'boss'" in problems["phases[0].entry_roles[0]"].message


def test_review_templates_are_chosen_per_type_and_checked() -> None:
    procedure = load_default_procedure().procedure
    security = procedure.review_template_for("security")
    assert security is not None and security.id == "security" and len(security.questions) == 3
    standard = procedure.review_template_for("outage")
    assert standard is not None and standard.id == procedure.review_templates[0].id
    text = MINIMAL + textwrap.dedent(
        """\
        review_templates:
          - {id: standard, name: Standard}
        incident_types:
          - {id: outage, name: Outage, review_template: forensic}
        """
    )
    problems = by_path(problems_of(text))
    assert "unknown review template 'forensic'" in problems["incident_types[0].review_template"].message


def test_chat_channel_is_off_unless_a_severity_asks_for_it() -> None:
    """The shipped procedure opens a war room for P1 and P2; a severity that does not say is off, and the
    flag is a boolean, not any text."""
    shipped = load_default_procedure().procedure
    assert [s.id for s in shipped.severities if s.chat_channel] == ["P1", "P2"]
    assert load_procedure_text(MINIMAL).procedure.severity("P1").chat_channel is False
    marked = MINIMAL.replace("response_target: 15m}", "response_target: 15m, chat_channel: true}")
    assert load_procedure_text(marked).procedure.severity("P1").chat_channel is True
    with pytest.raises(ProcedureInvalid) as raised:
        load_procedure_text(
            MINIMAL.replace("response_target: 15m}", "response_target: 15m, chat_channel: sure}")
        )
    assert any("chat_channel" in str(problem) for problem in raised.value.problems)


def _with_page(page: str) -> str:
    return MINIMAL.replace("response_target: 15m}", f"response_target: 15m, page: {page}}}")


def test_page_targets_are_structured() -> None:
    loaded = load_procedure_text(
        _with_page("[service_policy, {schedule: ic}, {team: sre}, {user: a@example.org}]")
    )
    assert [(t.kind, t.ref) for t in loaded.procedure.severity("P1").page] == [
        ("service_policy", ""), ("schedule", "ic"), ("team", "sre"), ("user", "a@example.org"),
    ]  # fmt: skip
    again = Procedure.model_validate(loaded.procedure.model_dump())  # a dump reads back as it was
    assert again.severity("P1").page == loaded.procedure.severity("P1").page


@pytest.mark.parametrize(
    ("page", "says"),
    [
        ("[primary on-call]", "'primary on-call' is not a page target; write service_policy"),
        ("[{rota: night}]", "{'rota': 'night'} is not a page target"),
        ("[{schedule: a, team: b}]", "is not a page target"),
        ("[{schedule: ''}]", "schedule: give the schedule's slug"),
    ],
)
def test_free_text_or_an_unknown_page_target_is_an_error_with_a_hint(page: str, says: str) -> None:
    with pytest.raises(ProcedureInvalid) as refused:
        load_procedure_text(_with_page(page))
    (problem,) = refused.value.problems
    assert problem.path == "severities[0].page[0]" and says in problem.message, problem


def test_playbooks_name_known_phases_roles_actions_and_types_name_known_playbooks() -> None:
    data = load_default_procedure().procedure.model_dump()
    step = data["playbooks"][0]["steps"][0]
    step.update(phase="limbo", role="janitor", action="launch_missiles")
    data["playbooks"][0]["steps"].append({**data["playbooks"][0]["steps"][1]})  # a repeated step id
    ransomware = next(t for t in data["incident_types"] if t["id"] == "ransomware")
    ransomware["playbook"] = "ransomwear"
    breach = next(t for t in data["incident_types"] if t["id"] == "data_breach")
    breach["deadlines"][0]["step"] = "call_the_press"
    data["phases"][0]["responsible"] = "janitor"
    problems = dict(cross_check(data))
    where = {".".join(str(part) for part in loc): message for loc, message in problems.items()}
    assert where["playbooks.0.steps.0.phase"].startswith("unknown phase 'limbo'")
    assert where["playbooks.0.steps.0.role"].startswith("unknown role 'janitor'")
    assert where["playbooks.0.steps.0.action"].startswith("unknown action 'launch_missiles'")
    assert (
        "duplicate step id 'isolate_hosts'"
        in where[f"playbooks.0.steps.{len(data['playbooks'][0]['steps']) - 1}.id"]
    )
    types = [t["id"] for t in data["incident_types"]]
    assert where[f"incident_types.{types.index('ransomware')}.playbook"].startswith(
        "unknown playbook 'ransomwear'"
    )
    deadline = f"incident_types.{types.index('data_breach')}.deadlines.0.step"
    assert where[deadline] == "step 'call_the_press' is not in this type's playbook"
    assert (
        where["phases.0.responsible"].startswith("unknown role 'janitor'")
        and "on_call" in where["phases.0.responsible"]
    )
    with pytest.raises(ValidationError):
        Procedure.model_validate(data)
