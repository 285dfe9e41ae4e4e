"""Review rules without a database: impact and cost, the status machine, curated order, the Markdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from warroom.errors import Conflict, DomainError, IllegalTransition
from warroom.reviews import domain

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # Europe/Berlin springs forward at 01:00 UTC that night


def test_impact_runs_from_impact_start_to_mitigation_else_detection_to_resolution() -> None:
    later = T0 + timedelta(minutes=41)
    assert domain.impact_minutes(impact_started=T0, detected=None, mitigated=later, resolved=None) == 41.0
    assert (
        domain.impact_minutes(
            impact_started=None, detected=T0, mitigated=None, resolved=later + timedelta(minutes=9)
        )
        == 50.0
    )
    assert domain.impact_minutes(impact_started=T0, detected=T0, mitigated=None, resolved=None) is None


def test_impact_across_a_dst_change_is_elapsed_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = T0.astimezone(berlin)  # 01:30 CET
    end = (T0 + timedelta(hours=1)).astimezone(berlin)  # 03:30 CEST: two wall-clock hours, one real hour
    assert domain.impact_minutes(impact_started=start, detected=None, mitigated=end, resolved=None) == 60.0


def test_cost_sums_the_services_that_have_a_cost_and_is_none_without_one() -> None:
    assert domain.cost_estimate(41.0, [100.0, None, 25.0]) == 5125.0
    assert domain.cost_estimate(41.0, [None, None]) is None
    assert domain.cost_estimate(None, [100.0]) is None


def test_status_machine_needs_a_reviewer_and_published_is_final() -> None:
    domain.check_status_change(current="draft", target="in_review", reviewers=1)
    domain.check_status_change(current="in_review", target="published", reviewers=1)
    domain.check_status_change(current="in_review", target="draft", reviewers=1)
    with pytest.raises(IllegalTransition, match="name at least one reviewer"):
        domain.check_status_change(current="draft", target="in_review", reviewers=0)
    with pytest.raises(IllegalTransition, match="a draft review cannot become published"):
        domain.check_status_change(current="draft", target="published", reviewers=2)
    with pytest.raises(IllegalTransition, match="published is final"):
        domain.check_status_change(current="published", target="draft", reviewers=2)
    with pytest.raises(DomainError, match="unknown status 'approved'"):
        domain.check_status_change(current="draft", target="approved", reviewers=2)
    with pytest.raises(Conflict):
        domain.check_editable("published")
    domain.check_editable("in_review")


def test_answers_must_belong_to_the_template_and_blanks_drop() -> None:
    questions = ["Which SLO broke?", "Who was told?"]
    assert domain.checked_answers(
        questions, {"Which SLO broke?": " checkout 99.9% ", "Who was told?": "  "}
    ) == {"Which SLO broke?": "checkout 99.9%"}
    with pytest.raises(DomainError, match="not a question of this review's template"):
        domain.checked_answers(questions, {"Why?": "because"})


def line(seq: int | None, minutes: int, summary: str, **overrides: object) -> domain.TimelineLine:
    fields: dict[str, object] = {
        "seq": seq, "at": T0 + timedelta(minutes=minutes), "original_at": None, "kind": "note",
        "actor": "ann@x", "summary": summary, "note": "", "highlighted": False, "hidden": False,
    }  # fmt: skip
    fields.update(overrides)
    return domain.TimelineLine(**fields)  # type: ignore[arg-type]


def test_a_corrected_time_reorders_and_hidden_lines_leave_the_export() -> None:
    lines = [
        line(1, 0, "Declared"),
        line(2, 5, "Noise", hidden=True),
        line(3, 1, "Deploy rolled back", original_at=T0 + timedelta(minutes=20), highlighted=True),
        line(None, 3, "Pager went off in the car park"),
    ]
    shown = domain.ordered(lines, include_hidden=False)
    assert [x.summary for x in shown] == ["Declared", "Deploy rolled back", "Pager went off in the car park"]
    assert len(domain.ordered(lines, include_hidden=True)) == 4
    text = domain.markdown(
        title="Post-incident review: INC-7 Search slow",
        facts=[("Severity", "P3")],
        sections=[("Summary", "Search was slow."), ("Trigger", "")],
        lists=[("Five whys", ["Why slow? A rebuild"]), ("Contributing factors", [])],
        timeline=shown,
        actions=[["Alert on | latency", "prevent", "ann@x", "2026-04-01", "open", ""]],
    )
    assert text.startswith("# Post-incident review: INC-7 Search slow\n\n- **Severity:** P3\n")
    assert "| 2026-03-29 00:31 (recorded 00:50) | **Deploy rolled back** | ann@x |  |" in text
    assert "Noise" not in text
    assert "## Trigger\n\n_Not written yet._" in text
    assert "## Five whys\n\n1. Why slow? A rebuild" in text
    assert "## Contributing factors\n\n_None listed._" in text
    assert "| Alert on \\| latency | prevent |" in text  # a pipe in a cell does not break the table
