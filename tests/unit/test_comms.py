"""Stakeholder communications without a database: the procedure section's checks, template choice,
rendering for internal and external audiences, recipient addresses and reminder timing."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.test_procedure_schema import MINIMAL, by_path, problems_of
from warroom.comms import domain
from warroom.errors import InvalidInput
from warroom.procedure.loader import load_default_procedure, load_procedure_text
from warroom.procedure.render import render_markdown
from warroom.timeline.describe import messages_sent

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def with_comms(section: str) -> str:
    return MINIMAL + textwrap.dedent(section)


def test_a_template_that_does_not_render_is_a_procedure_problem_at_its_line() -> None:
    text = with_comms(
        """\
        communications:
          audiences:
            - {id: internal, name: Internal}
          templates:
            - audience: internal
              subject: "{{ incident.titel }}"
              body: "{{ update.body }}"
        """
    )
    problems = by_path(problems_of(text))
    problem = problems["communications.templates[0].subject"]
    assert "template does not render" in problem.message and "titel" in problem.message
    assert problem.line == text.splitlines().index('      subject: "{{ incident.titel }}"') + 1


def test_bad_syntax_unknown_audiences_and_severities_and_missing_coverage_are_problems() -> None:
    broken = with_comms(
        """\
        communications:
          audiences:
            - {id: internal, name: Internal}
          templates:
            - {audience: internal, subject: "{% if %}", body: "x"}
        """
    )
    assert "template does not render" in problems_of(broken)[0].message
    unknown = with_comms(
        """\
        communications:
          audiences:
            - {id: internal, name: Internal}
          templates:
            - {audience: press, subject: "s", body: "b"}
        """
    )
    assert "template for unknown audience 'press'" in problems_of(unknown)[0].message
    uncovered = with_comms(
        """\
        communications:
          audiences:
            - {id: internal, name: Internal, severities: [P1, P9]}
          templates:
            - {audience: internal, severities: [P7], subject: "s", body: "b"}
        """
    )
    messages = sorted(p.message for p in problems_of(uncovered))
    assert messages == [
        "no update template for severities P1",
        "unknown severity 'P7'; defined: P1",
        "unknown severity 'P9'; defined: P1",
    ]


def test_a_severity_template_wins_over_the_catch_all() -> None:
    loaded = load_procedure_text(
        with_comms(
            """\
            communications:
              audiences:
                - {id: internal, name: Internal}
              templates:
                - {audience: internal, subject: "any {{ incident.ref }}", body: "b"}
                - {audience: internal, severities: [P1], subject: "urgent {{ incident.ref }}", body: "b"}
            """
        ),
        source="proc.yaml",
    )
    comms = loaded.procedure.communications
    chosen = comms.template_for("internal", "P1")
    assert chosen is not None and chosen.subject.startswith("urgent")
    assert comms.template_for("internal", "P3") is not None
    assert comms.template_for("customers", "P1") is None


FACTS = domain.IncidentFacts(
    ref="INC-7", title="Search is slow", severity="P2", severity_name="High", phase="containment",
    phase_name="Containment", status="active", customer_impact="Results take 30 s.", services=["search"],
    commander="Ann Example", communications_lead="Bob Example", declared_at=T0,
    url="https://warroom.example/incidents/INC-7",
)  # fmt: skip


def rendered(audience: str) -> domain.Rendered:
    comms = load_default_procedure().procedure.communications
    template = comms.template_for(audience, "P2")
    assert template is not None
    values = domain.context(
        FACTS, number=3, body="Index rebuilt.", author="Bob Example", posted_at=T0,
        next_update_at=T0 + timedelta(hours=1), status_page_url="https://warroom.example/status",
        internal=comms.audience(audience).internal,
    )  # fmt: skip
    return domain.render(audience, template, values)


def test_internal_and_external_audiences_read_different_things() -> None:
    internal = rendered("internal")
    assert internal.subject == "[P2] INC-7 Search is slow: update 3"
    assert "Commander: Ann Example." in internal.body
    assert "Next update by 2026-03-02 11:00 UTC." in internal.body
    assert "https://warroom.example/incidents/INC-7" in internal.body
    customers = rendered("customers")
    assert customers.subject == "Service disruption: Search is slow"
    assert "Index rebuilt." in customers.body
    for internal_only in ("Ann", "Bob", "/incidents/"):
        assert internal_only not in customers.body


def test_addresses_are_checked_per_channel() -> None:
    assert domain.check_address("email", " leads@example.com ") == "leads@example.com"
    assert domain.check_address("webhook", "https://hooks.example/x") == "https://hooks.example/x"
    assert domain.check_address("apprise", "slack://a/b/c/#incidents") == "slack://a/b/c/#incidents"
    for channel, address in (
        ("email", "leads"),
        ("webhook", "hooks.example/x"),
        ("apprise", "slack"),
        ("sms", "1"),
    ):
        with pytest.raises(InvalidInput):
            domain.check_address(channel, address)


def test_reminders_fall_due_then_repeat_every_cadence() -> None:
    due, cadence = T0 + timedelta(minutes=30), timedelta(minutes=30)

    def check(now: datetime, reminded: datetime | None) -> bool:
        return domain.reminder_due(due=due, reminded=reminded, now=now, cadence=cadence)

    assert not check(due - timedelta(seconds=1), None)
    assert check(due, None)
    assert not check(due + timedelta(minutes=29), due)
    assert check(due + timedelta(minutes=30), due)
    assert check(due, due - timedelta(hours=1))  # a reminder for an earlier due time does not count
    assert not domain.reminder_due(due=None, reminded=None, now=T0, cadence=cadence)


def test_audiences_default_to_all_that_hear_and_refuse_others() -> None:
    assert domain.check_audiences(None, ["internal", "executives"]) == ["internal", "executives"]
    assert domain.check_audiences(["executives", "executives"], ["internal", "executives"]) == ["executives"]
    assert domain.check_audiences([], ["internal"]) == []
    with pytest.raises(InvalidInput, match="'customers' does not hear about this severity"):
        domain.check_audiences(["customers"], ["internal"])


def test_the_sop_shows_each_audience_with_a_sample() -> None:
    text = render_markdown(load_default_procedure())
    section = text[text.index("## Stakeholder communications") : text.index("## Business hours")]
    assert "### Customers (`customers`)" in section
    assert "- Hears about: P1, P2" in section
    assert "Subject: Service disruption: Checkout is down" in section
    assert "`next_update_at`" in section


def test_the_count_of_stakeholder_messages_in_words() -> None:
    assert [messages_sent(n) for n in (0, 1, 2, 1500)] == [
        "no message: those lists were empty",
        "1 message",
        "2 messages",
        "1,500 messages",
    ]
