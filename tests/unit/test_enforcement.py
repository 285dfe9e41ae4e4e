"""The enforcement table and the procedure walked together: every field of the procedure is either
descriptive or a rule in the table; each rule the table calls enforced is read by the modules it names; the
rendered SOP says of each rule whether it is enforced; and a rule the code ignores is rendered as advisory."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pydantic import BaseModel

from warroom.procedure.enforcement import RULES, rules_of
from warroom.procedure.loader import load_default_procedure
from warroom.procedure.playbook_schema import Action, Deadline, PlaybookStep
from warroom.procedure.render import render_markdown
from warroom.procedure.schemas import IncidentType, Phase, Procedure, Role, Severity

# Fields that describe and name, and sections made of other sections: no behaviour of their own.
DESCRIPTIVE = {"id", "name", "description", "examples", "responsibilities", "title", "guidance", "links",
               "authority", "version", "severities", "roles", "phases", "incident_types", "review_templates",
               "playbooks", "actions"}  # fmt: skip
MODELS: dict[str, type[BaseModel]] = {
    "severity": Severity, "role": Role, "phase": Phase, "incident_type": IncidentType, "step": PlaybookStep,
    "action": Action, "deadline": Deadline, "procedure": Procedure,
}  # fmt: skip
SRC = Path(importlib.util.find_spec("warroom").origin or "").parent  # type: ignore[union-attr]


def test_every_field_of_the_procedure_is_descriptive_or_in_the_table() -> None:
    for section, model in MODELS.items():
        listed = {rule.field for rule in rules_of(section)}
        rules = set(model.model_fields) - DESCRIPTIVE
        assert rules - listed == set(), f"{section}: fields with no enforcement rule"
        assert listed - set(model.model_fields) == set(), f"{section}: rules for fields that do not exist"
    assert len({(r.section, r.field) for r in RULES}) == len(RULES)


def test_each_enforced_rule_is_read_by_the_modules_it_names() -> None:
    for rule in RULES:
        assert rule.enforced == bool(rule.by), (
            f"{rule.section}.{rule.field}: an enforced rule names its modules"
        )
        for module in rule.by:
            path = SRC / f"{module.replace('.', '/')}.py"
            assert path.is_file(), f"{rule.section}.{rule.field}: no module warroom.{module}"
            assert rule.field in path.read_text(), f"warroom.{module} does not read {rule.field}"


def test_the_sop_says_of_each_rule_whether_it_is_enforced() -> None:
    rendered = render_markdown(load_default_procedure())
    table = rendered.split("## What the software enforces", 1)[1]
    for rule in RULES:
        row = f"| {rule.section}.{rule.field} | {'yes' if rule.enforced else 'advisory'} |"
        assert row in table, row
    assert "| Status page draft |" in rendered  # the severity table names what the flag does
