"""Who may read a team's write credential (an integration's intake key), and the scrub of old page bodies."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from warroom.auth.domain import Permission, Role, allows, may_read_team_secret

TEAM, OTHER = 1, 2


@pytest.mark.parametrize(
    ("role", "owner", "member_of", "reads"),
    [
        ("admin", TEAM, frozenset(), True),
        ("admin", None, frozenset(), True),
        ("responder", TEAM, frozenset({TEAM}), True),
        ("responder", TEAM, frozenset({OTHER}), False),  # another team's responder
        ("responder", None, frozenset({TEAM}), False),  # nobody's integration: admins only
        ("viewer", TEAM, frozenset({TEAM}), False),  # read-only, even on the owning team
        ("stakeholder", TEAM, frozenset({TEAM}), False),
        ("no-such-role", TEAM, frozenset({TEAM}), False),
    ],
)
def test_who_reads_a_team_secret(
    role: str, owner: int | None, member_of: frozenset[int], reads: bool
) -> None:
    assert may_read_team_secret(role, owner, member_of) is reads


def test_only_admins_read_the_job_table() -> None:
    assert [r.value for r in Role if allows(r.value, Permission.jobs_read)] == ["admin"]


def test_the_scrub_drops_the_acknowledge_line_and_nothing_else() -> None:
    path = Path(__file__).parents[2] / "src/warroom/migrations/versions/0012_scrub_ack_links.py"
    spec = importlib.util.spec_from_file_location("scrub_ack_links", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = "DB down\nreplica lag\nAlert #3 (db)"
    assert module.scrubbed_body(f"{page}\nAcknowledge: https://w.example/ack/3.4.5.{'f' * 32}") == page
    assert module.scrubbed_body(page) == page
    kept = "Acknowledge: we know\nAcknowledgements: http://x"  # not a link line of ours
    assert module.scrubbed_body(kept) == kept
