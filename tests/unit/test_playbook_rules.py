"""The pure rules of playbooks: which gates hold a move, the checklist, regulatory clocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from warroom.errors import IllegalTransition
from warroom.incidents import playbook_rules
from warroom.procedure.loader import load_default_procedure
from warroom.procedure.playbook_schema import Deadline

PROCEDURE = load_default_procedure().procedure
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


@dataclass
class Step:
    id: int
    title: str
    phase: str | None
    step_id: str | None = None
    gate: bool = True
    done: bool = False
    done_at: datetime | None = None
    waived_at: datetime | None = None


def test_gates_hold_forward_moves_past_their_phase_only() -> None:
    gate = Step(1, "isolate", "containment")
    rules = playbook_rules
    assert rules.blocking_gates(PROCEDURE, [gate], current="containment", target="eradication") == [gate]
    assert rules.blocking_gates(PROCEDURE, [gate], current="triage", target="recovery") == [gate]  # skipped
    assert rules.blocking_gates(PROCEDURE, [gate], current="triage", target="containment") == []
    assert rules.blocking_gates(PROCEDURE, [gate], current="recovery", target="containment") == []  # back
    for settled in (Step(2, "x", "containment", done=True), Step(3, "y", "containment", waived_at=T0)):
        assert rules.blocking_gates(PROCEDURE, [settled], current="containment", target="review") == []
    assert rules.blocking_gates(PROCEDURE, [Step(4, "z", "containment", gate=False)],
                                current="containment", target="review") == []  # fmt: skip
    with pytest.raises(IllegalTransition, match="isolate"):
        rules.check_gates(PROCEDURE, [gate], current="containment", target="review")


def test_unticked_criteria_need_a_reason_going_forward() -> None:
    assert playbook_rules.check_checklist(PROCEDURE, current="triage", target="containment", ticked={0, 1, 2},
                                          reason="") == []  # fmt: skip
    with pytest.raises(IllegalTransition, match="2 exit criteria of Triage"):
        playbook_rules.check_checklist(
            PROCEDURE, current="triage", target="containment", ticked={1}, reason=" "
        )
    left = playbook_rules.check_checklist(PROCEDURE, current="triage", target="containment", ticked={1},
                                          reason="support has it")  # fmt: skip
    assert left == [
        "Impact and affected customers or systems are described",
        "A first internal update has been posted",
    ]
    assert (
        playbook_rules.check_checklist(PROCEDURE, current="closed", target="triage", ticked=set(), reason="")
        == []
    )


def test_a_deadline_runs_from_awareness_and_stops_when_its_step_is_done() -> None:
    deadline = Deadline(id="gdpr", name="Notify", within="72h", step="notify")
    step = Step(1, "notify", "containment", step_id="notify", gate=False)

    def state(now: datetime) -> str:
        declared = T0 + timedelta(hours=5)
        (clock,) = playbook_rules.deadline_clocks([deadline], [step], detected_at=T0, declared_at=declared,
                                                  notified_at=None, now=now)  # fmt: skip
        return clock.state

    assert [state(T0 + timedelta(hours=h)) for h in (1, 40, 60, 73)] == ["ok", "warn", "urgent", "overdue"]
    step.done, step.done_at = True, T0 + timedelta(hours=80)
    assert state(T0 + timedelta(hours=90)) == "missed"
    step.done_at = T0 + timedelta(hours=10)
    assert state(T0 + timedelta(hours=90)) == "met"
    by_milestone = Deadline(id="n", name="Notify", within="24h", starts="declared")
    (clock,) = playbook_rules.deadline_clocks([by_milestone], [], detected_at=T0, declared_at=T0,
                                              notified_at=T0 + timedelta(hours=2), now=T0)  # fmt: skip
    assert (clock.state, clock.due_at) == ("met", T0 + timedelta(hours=24))
