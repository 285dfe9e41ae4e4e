"""Operator commands against a real `warroom serve` process on the test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from tests import cli
from tests.conftest import emptied_after
from tests.process import ServerProcess, free_port, plain

EMAIL = "operator@example.com"


@dataclass
class Operator:
    server: ServerProcess
    token: str
    db_env: dict[str, str]

    @property
    def env(self) -> dict[str, str]:
        return {"WARROOM_URL": self.server.url, "WARROOM_TOKEN": self.token}

    def ok(self, *args: str) -> str:
        """Run an operator command in-process; it must succeed. Returns its stdout, rendered 200 wide."""
        result = cli.invoke(args, {**self.env, "COLUMNS": "200"})
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    def fails(self, *args: str, env: dict[str, str] | None = None) -> str:
        return fails_in_one_line(args, {**self.env, **(env or {})})

    def api(self, path: str) -> Any:
        response = httpx.get(
            f"{self.server.url}{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()


def fails_in_one_line(args: Sequence[str], env: dict[str, str]) -> str:
    """The console script's `main()` exits 1 and prints one line, `error: ...`, on stderr; no traceback."""
    done = cli.run_main(args, env)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


@pytest.fixture
def operator(module_server: ServerProcess, module_database: dict[str, str]) -> Iterator[Operator]:
    """The module's server and a responder's token, on empty tables."""
    with emptied_after(module_database):
        created = cli.invoke(
            ["token", "create", "--email", EMAIL, "--name", "cli", "--role", "responder"], module_database
        )
        assert created.exit_code == 0, created.output
        yield Operator(server=module_server, token=created.stdout.strip(), db_env=module_database)


def declare(operator: Operator, title: str = "Checkout down", severity: str = "P1") -> str:
    line = plain(operator.ok("declare", title, "--severity", severity))
    found = re.fullmatch(rf"(INC-\d+) declared: {re.escape(title)} \({severity}, triage\)", line)
    assert found, line
    return found.group(1)


def table_rows(output: str) -> list[list[str]]:
    """The body rows of rich tables in `output`, as lists of stripped cells."""
    return [
        [c.strip() for c in line.split("│")[1:-1]] for line in output.splitlines() if line.startswith("│")
    ]


def in_order(wanted: Sequence[str], seen: Sequence[str]) -> bool:
    remaining = iter(seen)
    return all(kind in remaining for kind in wanted)


@pytest.mark.slow
def test_an_incident_from_declaration_to_resolution(operator: Operator, tmp_path: Path) -> None:
    ref = declare(operator)

    listed = operator.ok("incidents")
    assert "1 incident(s)" in listed
    rows = table_rows(listed)
    assert [row[:5] for row in rows] == [[ref, "P1", "active", "triage", "Checkout down"]]
    listings_offer_json(operator, ref)

    assigned = plain(operator.ok("assign", ref, "incident_commander", EMAIL))
    assert assigned == f"{ref}: assigned incident_commander ({EMAIL}); roles now: incident_commander={EMAIL}"
    assert (
        plain(operator.ok("phase", ref, "containment", "--reason", "scoped"))
        == f"{ref} is now in containment (active)"
    )
    estimate = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    recorded = operator.ok("milestone", ref, "compromised", "--at", estimate.isoformat(), "--note", "EDR")
    assert plain(recorded) == f"{ref}: compromised at {estimate.isoformat().replace('+00:00', 'Z')}"
    late = operator.fails("milestone", ref, "compromised", "--at", "2999-01-01T00:00:00Z")
    assert late.startswith("error: 422 at: is in the future"), late
    assert plain(operator.ok("update", ref, "Rolled back deploy 4812")) == f"{ref}: internal update posted"
    stakeholder_lists_and_updates(operator, ref)
    stakeholder = plain(operator.ok("update", ref, "Card payments recover", "--stakeholder"))
    assert stakeholder == f"{ref}: stakeholder update posted: 1 message to internal, executives, customers"
    refused = operator.fails("resolve", ref)  # a P1 needs a communications lead and a technical lead
    assert refused.startswith("error: 409 a P1 incident needs Communications lead, Technical lead"), refused
    assert plain(operator.ok("assign", ref, "technical_lead", EMAIL)).startswith(f"{ref}: assigned")
    waived = operator.ok("waive", ref, "communications_lead", "--reason", "internal only")
    assert plain(waived) == f"{ref}: waived communications_lead; still missing: none"
    unticked = operator.fails("resolve", ref)
    assert unticked.startswith("error: 409 3 exit criteria of Containment are not ticked"), unticked
    assert (
        plain(operator.ok("resolve", ref, "--reason", "rolled back"))
        == f"{ref} resolved: now in review (resolved)"
    )

    shown = operator.ok("show", ref)
    assert plain(shown).startswith(f"{ref} Checkout down severity P1 | resolved | phase review | target met")
    assert f"incident_commander: {EMAIL} <{EMAIL}>" in shown
    timeline = table_rows(shown.split("Timeline", 1)[1])
    kinds = [row[3] for row in timeline]
    wanted = ["declared", "role_assigned", "phase_changed", "note", "stakeholder_update", "roles_waived",
              "phase_changed"]  # fmt: skip
    assert in_order([*wanted, "resolved"], kinds), kinds
    assert [row[0] for row in timeline] == [str(n) for n in range(1, len(timeline) + 1)]
    assert all(row[2] == EMAIL for row in timeline)
    details = {row[3]: row[4] for row in timeline}
    assert "body=Card payments recover" in details["stakeholder_update"]
    assert "old=containment, new=review" in [row[4] for row in timeline if row[3] == "phase_changed"][-1]

    api_kinds = [event["kind"] for event in operator.api(f"/api/v1/incidents/{ref}/timeline")]
    assert api_kinds == kinds  # show lists every event, in order
    shown_json = json.loads(operator.ok("show", ref, "--json"))
    assert [e["kind"] for e in shown_json["timeline"]] == api_kinds and shown_json["ref"] == ref
    assert operator.api(f"/api/v1/incidents/{ref}")["status"] == "resolved"
    report_covers_the_incident_and_leaves_the_drill_out(operator)
    preparedness_is_listed(operator)
    review_follow_ups_are_listed_and_exported(operator, ref, tmp_path)


def stakeholder_lists_and_updates(operator: Operator, ref: str) -> None:
    """Lists built from the CLI; a preview sends nothing; --to narrows where an update goes."""
    added = plain(operator.ok("stakeholders", "add", "internal", "support@example.com", "--label", "Support"))
    assert re.fullmatch(r"added support@example.com to internal \(id \d+\)", added), added
    operator.ok("stakeholders", "add", "executives", "https://hooks.example/execs", "--channel", "webhook")
    listed = table_rows(operator.ok("stakeholders", "list"))
    assert [row[1:5] for row in listed] == [
        ["executives", "webhook", "https://hooks.example/execs", ""],
        ["internal", "email", "support@example.com", "Support"],
    ]
    preview = plain(
        operator.ok("update", ref, "Rolling back", "--stakeholder", "--preview", "--to", "customers")
    )
    assert "customers: 0 recipient(s)" in preview and "Subject: Service disruption: Checkout down" in preview
    narrowed = plain(operator.ok("update", ref, "Execs only", "--stakeholder", "--to", "executives"))
    assert narrowed == f"{ref}: stakeholder update posted: 1 message to executives"
    assert operator.fails("update", ref, "x", "--to", "executives") == (
        "error: --to and --preview are for stakeholder updates: add --stakeholder"
    )
    refused = operator.fails("stakeholders", "add", "press", "a@b.co")
    assert refused.startswith("error: 422 audience: unknown audience 'press'"), refused
    assert operator.ok("stakeholders", "remove", listed[0][0]).strip() == f"removed {listed[0][0]}"


def review_follow_ups_are_listed_and_exported(operator: Operator, ref: str, tmp_path: Path) -> None:
    item = {"title": "Alert on pool saturation", "type": "prevent", "owner": EMAIL, "due_on": "2020-01-01"}
    response = httpx.post(
        f"{operator.server.url}/api/v1/incidents/{ref}/review/action-items",
        json=item,
        headers={"Authorization": f"Bearer {operator.token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    overdue = table_rows(operator.ok("actions", "--overdue", "--mine"))
    assert [row[2:7] for row in overdue] == [
        ["Alert on pool saturation", "prevent", EMAIL, "2020-01-01", "open (overdue)"]
    ]
    refused = operator.fails("actions", "--owner", "nobody@example.com")
    assert refused == "error: 404 no user with email 'nobody@example.com'"
    target = tmp_path / "review.md"
    assert plain(operator.ok("review", "export", ref, "-o", str(target))) == f"wrote {target}"
    text = target.read_text(encoding="utf-8")
    assert text.startswith(f"# Post-incident review: {ref} Checkout down")
    assert "| Alert on pool saturation | prevent |" in text
    page = tmp_path / "review.html"
    operator.ok("review", "export", ref, "--format", "html", "-o", str(page))
    assert "<td>Alert on pool saturation</td>" in page.read_text(encoding="utf-8")
    pdf = tmp_path / "review.pdf"
    assert plain(operator.ok("review", "export", ref, "--format", "pdf", "-o", str(pdf))) == f"wrote {pdf}"
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())  # cells wrap
    assert f"Post-incident review: {ref} Checkout down" in text and "Alert on pool saturation" in text


def listings_offer_json(operator: Operator, ref: str) -> None:
    listed = json.loads(operator.ok("incidents", "--json"))  # the API's page (its clocks tick)
    assert [(i["ref"], i["title"]) for i in listed["items"]] == [(ref, "Checkout down")]
    assert listed["total"] == 1 and listed["items"][0]["response_target"]["target"] == "15m"
    assert json.loads(operator.ok("oncall", "--json")) == operator.api("/api/v1/oncall")


def preparedness_is_listed(operator: Operator) -> None:
    prepared = json.loads(operator.ok("preparedness", "--json"))
    assert prepared == operator.api("/api/v1/preparedness")
    assert all(p["score"] < 100 for p in prepared["people"])  # nobody here is on a rotation
    table = plain(operator.ok("preparedness"))
    assert "Responders" in table and "add them to a schedule layer" in table


def report_covers_the_incident_and_leaves_the_drill_out(operator: Operator) -> None:
    declared = plain(operator.ok("declare", "Game day", "--severity", "P4", "--drill"))
    assert declared.endswith("(P4, triage)")
    body = json.loads(operator.ok("report", "--since", "1d", "--format", "json"))
    assert body["overall"]["incidents"] == 1
    assert body["overall"]["metrics"]["time_to_resolve"]["count"] == 1
    with_drills = operator.ok("report", "--since", "1d", "--format", "csv", "--include-drills")
    rows = list(csv.reader(io.StringIO(with_drills)))
    assert rows[0][:5] == ["group", "incidents", "reopened", "target_met", "target_missed"]
    assert [row[:2] for row in rows[1:]] == [["all", "2"], ["P1", "1"], ["P4", "1"]]
    assert table_rows(operator.ok("report"))[0][:2] == ["all", "1"]
    drill = declared.split()[0].rstrip(":")  # "INC-2: Game day ..." or "INC-2 ..."
    assert (
        plain(operator.ok("drill", "end", drill)) == f"{drill}: drill ended; 0 alert(s) on it, all resolved"
    )
    assert operator.fails("drill", "end", drill).startswith("error: 409")
    # Drill trends are the admins' (participants must not see drills coming): one line for a responder.
    assert operator.fails("report", "--drills").startswith("error: 403 the responder role may not do this")


@pytest.mark.slow
def test_bad_operator_input_is_one_line_and_changes_nothing(operator: Operator) -> None:
    line = operator.fails("declare", "x", "--severity", "P9")
    assert line == "error: 422 severity: unknown severity 'P9'; allowed: P1, P2, P3, P4"
    assert operator.api("/api/v1/incidents")["total"] == 0

    ref = declare(operator, "Search slow", "P3")
    line = operator.fails("phase", ref, "eradication")
    assert line.startswith("error: 409 cannot move from triage to eradication")
    assert line.endswith("allowed from triage: containment, recovery, review, closed")
    assert operator.api(f"/api/v1/incidents/{ref}")["phase"] == "triage"

    assert operator.fails("show", "INC-9999") == "error: 404 no incident INC-9999"
    assert operator.fails("report", "--since", "ninety").startswith("error: 422 since: invalid duration")
    assert operator.fails("incidents", env={"WARROOM_TOKEN": "wr_not-a-real-token"}).startswith("error: 401 ")
    assert [e["kind"] for e in operator.api(f"/api/v1/incidents/{ref}/timeline")].count("phase_changed") == 0


def test_a_missing_token_is_explained() -> None:
    line = fails_in_one_line(["incidents"], {"WARROOM_URL": "http://127.0.0.1:9", "WARROOM_TOKEN": ""})
    assert line.startswith("error: set WARROOM_TOKEN to an API token")


def test_a_server_that_is_not_there_cannot_be_reached() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = fails_in_one_line(
        ["declare", "x", "--severity", "P1"], {"WARROOM_URL": url, "WARROOM_TOKEN": "wr_x"}
    )
    assert line.startswith(f"error: cannot reach warroom at {url} (ConnectError:")


def test_a_malformed_server_url_is_one_line_not_a_traceback() -> None:
    line = fails_in_one_line(["incidents"], {"WARROOM_URL": "http://[::1", "WARROOM_TOKEN": "wr_x"})
    assert "http://[::1" in line


@pytest.mark.slow
def test_a_restricted_incident_from_the_cli(operator: Operator) -> None:
    """`declare --restricted` hides it from others (the CLI reports the API's 404); its commander lifts it."""
    line = plain(operator.ok("declare", "Odd admin logins", "--severity", "P2", "--restricted"))
    ref = line.split(" ", 1)[0]
    assert operator.api(f"/api/v1/incidents/{ref}")["restricted"] is True
    created = cli.invoke(
        ["token", "create", "--email", "viewer@example.com", "--name", "cli", "--role", "viewer"],
        operator.db_env,
    )
    assert created.exit_code == 0, created.output
    viewer = {"WARROOM_URL": operator.server.url, "WARROOM_TOKEN": created.stdout.strip()}
    assert "no incident" in fails_in_one_line(["show", ref], viewer)
    assert "commander or an admin" in operator.fails("restrict", ref, "--lift")
    operator.ok("assign", ref, "incident_commander", EMAIL)
    added = plain(operator.ok("restrict", ref, "--add", "viewer@example.com"))
    assert added == f"{ref} is restricted to its participants; added viewer@example.com"
    assert ref in plain(cli.invoke(["show", ref], {**viewer, "COLUMNS": "200"}).stdout)


@pytest.mark.slow
def test_the_guided_phase_and_playbook_steps_from_a_terminal(operator: Operator) -> None:
    line = plain(operator.ok("declare", "Ransom note on fs-01", "--severity", "P1", "--type", "ransomware"))
    ref = line.split()[0]
    shown = plain(operator.ok("playbook", ref))
    assert shown.startswith(f"{ref} Triage: responsible On-call engineer")
    assert "[ ] 1. Impact and affected customers or systems are described" in shown
    assert "GATE Isolate affected hosts from the network" in shown
    ticked = plain(operator.ok("tick", ref, "1"))
    assert ticked == f"{ref}: ticked triage #1; 2 left"
    assert operator.fails("tick", ref, "9").startswith("error: 422 criterion: triage has 3 exit criteria")
    guided = json.loads(operator.ok("playbook", ref, "--json"))
    assert guided["phase"]["checklist"][0]["ticked"] is True
    isolate = next(s for s in guided["steps"] if s["step_id"] == "isolate_hosts")
    started = plain(operator.ok("step", "start", ref, str(isolate["id"]), "--target", "fs-01"))
    assert started == f"{ref}: started {isolate['title']}"  # the default procedure automates nothing
    refused = operator.fails("step", "waive", ref, str(isolate["id"]), "--reason", "reimaged")
    assert refused.startswith("error: 409 only the incident commander can waive a playbook step")
    operator.ok("assign", ref, "incident_commander", EMAIL)
    waived = plain(operator.ok("step", "waive", ref, str(isolate["id"]), "--reason", "reimaged"))
    assert waived == f"{ref}: waived {isolate['title']}"
    assert operator.fails("step", "approve", ref, "99").startswith("error: 404 no action run 99")


@pytest.mark.slow
def test_observables_and_assets_from_a_terminal(operator: Operator) -> None:
    ref = declare(operator, "Beacon from fs-01", "P2")
    added = plain(
        operator.ok("observable", "add", ref, "hxxps://c2.evil[.]example/x", "203.0.113.7", "nonsense!")
    )
    assert added.startswith(f"{ref}: 2 added, 0 already there, 1 refused")
    assert "line 3: cannot tell the type of 'nonsense!'" in added
    typed = plain(operator.ok("observable", "add", ref, "FS-01", "--type", "hostname", "--tlp", "red"))
    assert typed.startswith(f"{ref}: 1 added")
    listed = plain(operator.ok("observable", "list", ref))
    assert "3 TLP:RED hostname fs-01" in listed and "https://c2.evil.example/x" in listed
    assert len(json.loads(operator.ok("observable", "list", ref, "--json"))) == 3
    line = operator.fails("observable", "add", ref, "ip: 1.2.3")
    assert line.startswith("error: 422 value: 'ip: 1.2.3'") or "not an IPv4" in line, line
    surfaces = plain(operator.ok("asset", "add", ref, "fs-01", "--kind", "host", "--surface", "endpoint"))
    assert surfaces == f"{ref}: surfaces endpoint"
    operator.ok("asset", "add", ref, "svc-backup", "--kind", "account", "--surface", "identity")
    multi = plain(operator.ok("asset", "add", ref, "vpc-prod", "--kind", "network", "--surface", "network"))
    assert multi == f"{ref}: surfaces endpoint, identity, network (multi-vector)"
    assert [a["name"] for a in json.loads(operator.ok("asset", "list", "--json"))] == [
        "svc-backup",
        "fs-01",
        "vpc-prod",
    ]
