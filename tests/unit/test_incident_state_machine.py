from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warroom.errors import Conflict, IllegalTransition, InvalidInput
from warroom.incidents import domain
from warroom.procedure.loader import load_default_procedure

PROCEDURE = load_default_procedure().procedure
ALL_ROLES = set(PROCEDURE.role_ids())


def move(current: str, target: str, severity: str = "P3", roles: set[str] | None = None) -> domain.PhaseMove:
    return domain.check_phase_move(
        PROCEDURE,
        current=current,
        target=target,
        severity=severity,
        held_roles=ALL_ROLES if roles is None else roles,
    )


def test_forward_moves_follow_the_procedure() -> None:
    assert move("triage", "containment").target.id == "containment"
    assert move("containment", "eradication").milestones == ["contained"]
    assert move("eradication", "recovery").milestones == ["contained", "eradicated", "mitigated"]
    assert move("recovery", "review").target.status == "resolved"


def test_an_illegal_move_names_the_allowed_ones() -> None:
    with pytest.raises(IllegalTransition) as caught:
        move("triage", "eradication")
    assert "containment" in caught.value.detail and "recovery" in caught.value.detail
    assert caught.value.extra["allowed"] == PROCEDURE.phase("triage").next


def test_unknown_phase_and_same_phase_are_rejected_differently() -> None:
    with pytest.raises(InvalidInput, match="unknown phase 'mitigation'"):
        move("triage", "mitigation")
    with pytest.raises(Conflict, match="already in triage"):
        move("triage", "triage")


def test_reopen_from_closed_or_review_is_allowed_and_flagged() -> None:
    assert move("closed", "triage").reopens is True
    assert move("review", "triage").reopens is True
    assert move("recovery", "containment").reopens is False


def test_review_is_required_before_closing_a_p1_but_not_a_p4() -> None:
    with pytest.raises(IllegalTransition, match="review"):
        move("recovery", "closed", severity="P1")
    assert move("recovery", "closed", severity="P4").target.id == "closed"
    assert move("review", "closed", severity="P1").target.id == "closed"


def test_a_p1_needs_a_commander_before_containment() -> None:
    with pytest.raises(IllegalTransition) as caught:
        move("triage", "containment", severity="P1", roles=set())
    assert caught.value.extra["missing_roles"] == ["incident_commander"]
    assert (
        move("triage", "containment", severity="P1", roles={"incident_commander"}).target.id == "containment"
    )
    assert move("triage", "containment", severity="P4", roles=set()).target.id == "containment"


def test_resolution_phase_is_review_where_reachable() -> None:
    assert domain.resolution_phase(PROCEDURE, current="triage") == "review"
    assert domain.resolution_phase(PROCEDURE, current="recovery") == "review"
    assert domain.resolution_phase(PROCEDURE, current="review") == "closed"
    with pytest.raises(IllegalTransition):
        domain.resolution_phase(PROCEDURE, current="closed")


@given(st.lists(st.sampled_from(PROCEDURE.phase_ids()), max_size=30))
def test_any_walk_only_visits_allowed_edges(targets: list[str]) -> None:
    """Property: whatever is attempted, an accepted move is an edge of the procedure's graph."""
    current = PROCEDURE.initial_phase
    for target in targets:
        try:
            result = move(current, target, severity="P2")
        except (IllegalTransition, Conflict):
            assert target == current or target not in PROCEDURE.phase(current).next or target == "closed"
            continue
        assert target in PROCEDURE.phase(current).next
        current = result.target.id


def test_severity_change_needs_a_known_level_and_a_reason() -> None:
    with pytest.raises(InvalidInput, match="unknown severity 'P9'"):
        domain.check_severity_change(PROCEDURE, current="P2", new="P9", reason="x")
    with pytest.raises(InvalidInput, match="reason"):
        domain.check_severity_change(PROCEDURE, current="P2", new="P1", reason="  ")
    with pytest.raises(Conflict):
        domain.check_severity_change(PROCEDURE, current="P2", new="P2", reason="x")
    domain.check_severity_change(PROCEDURE, current="P2", new="P1", reason="worse")


def test_milestones_must_be_in_order_and_not_in_the_future() -> None:
    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="detected_at"):
        domain.check_milestone_order(
            impact_started_at=None, detected_at=now + timedelta(seconds=1), declared_at=now
        )
    with pytest.raises(InvalidInput, match="impact_started_at"):
        domain.check_milestone_order(
            impact_started_at=now - timedelta(minutes=1),
            detected_at=now - timedelta(minutes=5),
            declared_at=now,
        )
    domain.check_milestone_order(
        impact_started_at=now - timedelta(minutes=9), detected_at=now - timedelta(minutes=5), declared_at=now
    )


@pytest.mark.parametrize(
    ("text", "expected"), [("INC-42", 42), ("inc-7", 7), ("13", 13), ("INC-", None), ("x1", None)]
)
def test_refs_parse(text: str, expected: int | None) -> None:
    assert domain.parse_ref(text) == expected
