"""Drill scenario files: the shipped five validate; a bad one gives one readable line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom.drills.scenarios import (
    ScenarioInvalid,
    check_scenarios,
    load_scenario_text,
    scenario_files,
)

GOOD = """
id: tiny
title: Tiny
alerts:
  - {id: a1, format: generic, integration: web, payload: {title: down}}
expect: {incident_type: outage, severity: P2}
observables:
  - {kind: ip, value: "203.0.113.9", hosts: [web-1]}
  - {kind: domain, value: "Evil.EXAMPLE.", hosts: []}
injects:
  - {at: 10m, text: "new fact"}
  - {at: 20m, alert: a1}
"""


def test_shipped_scenarios_all_validate() -> None:
    ids = {load_scenario_text(p.read_text(), source=p.name).id for p in scenario_files()}
    assert ids == {
        "checkout-bad-deploy",
        "database-failover",
        "ransomware-file-server",
        "phishing-credential-theft",
        "ddos-public-api",
    }
    assert check_scenarios() == []


def test_good_scenario_opening_alert_is_the_first() -> None:
    scenario = load_scenario_text(GOOD)
    assert [a.id for a in scenario.opening_alerts()] == ["a1"]
    assert scenario.injects[1].alert == "a1"
    # injected observables are kept as an incident stores them: the recall compares like with like
    assert [(o.kind, o.value) for o in scenario.observables] == [
        ("ip", "203.0.113.9"),
        ("domain", "evil.example"),
    ]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (("format: generic", "format: nagios"), "alerts.0.format"),
        (("at: 10m", "at: soon"), "invalid duration 'soon'"),
        (("alert: a1}", "alert: nope}"), "unknown alert id(s) nope"),
        (('text: "new fact"', "text: x, alert: a1"), "exactly one of 'text' or 'alert'"),
        (("title: Tiny", "titel: Tiny"), "titel"),
        (("kind: ip", "kind: asn"), "observable kind 'asn' is not one of ip"),
        (('value: "203.0.113.9"', 'value: "203.0.113.999"'), "observables.0"),
    ],
)
def test_bad_scenario_names_the_problem(change: tuple[str, str], needle: str) -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario_text(GOOD.replace(*change), source="bad.yaml")
    assert any(needle in problem for problem in caught.value.problems), caught.value.problems
    assert all("\n" not in problem for problem in caught.value.problems)


def test_check_reports_one_line_per_problem(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(GOOD)
    (tmp_path / "broken.yaml").write_text("id: [unclosed\n")
    lines = check_scenarios(tmp_path)
    assert len(lines) == 1
    assert lines[0].startswith("broken.yaml: YAML error")


def test_procedure_check_reports_a_bad_scenario_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import warroom.procedure
    from warroom.cli.procedure import procedure_app

    procedure = tmp_path / "procedure.yaml"
    procedure.write_text((Path(warroom.procedure.__file__).parent / "default.yaml").read_text())
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "bad.yaml").write_text(GOOD.replace("at: 10m", "at: soon"))
    result = CliRunner().invoke(procedure_app, ["check", str(procedure)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("scenario ")]
    assert len(lines) == 1 and "bad.yaml: injects.0.at" in lines[0], result.output
    (tmp_path / "scenarios" / "bad.yaml").write_text(GOOD)
    ok = CliRunner().invoke(procedure_app, ["check", str(procedure)])
    assert ok.exit_code == 0 and "1 drill scenarios: ok" in ok.output
