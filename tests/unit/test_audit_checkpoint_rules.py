"""Checkpoint lines (pure) and the checkpoints file: signing, forging, removed lines, torn files."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from warroom.timeline.checkpoint_file import CheckpointFile
from warroom.timeline.checkpoints import (
    Checkpoint,
    Head,
    NotACheckpoint,
    is_signed_by,
    parse_line,
    read_lines,
    sign_heads,
)
from warroom.timeline.domain import GENESIS_HASH

KEY = b"k" * 32
AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HEADS = [Head(1, 4, "a" * 64), Head(2, 9, "b" * 64), Head(3, 1, "c" * 64)]


def lines(heads: list[Head] = HEADS) -> list[str]:
    return [c.line() for c in sign_heads(KEY, heads, AT, GENESIS_HASH)]


def test_a_signed_line_parses_back_and_verifies_and_each_links_to_the_one_before() -> None:
    made = [parse_line(line) for line in lines()]
    assert [(c.incident, c.seq, c.hash) for c in made] == [(h.incident, h.seq, h.hash) for h in HEADS]
    assert all(is_signed_by(KEY, c) for c in made)
    assert not any(is_signed_by(b"x" * 32, c) for c in made)
    assert [c.prev for c in made] == [GENESIS_HASH, made[0].sig, made[1].sig]
    assert made[0].at == "2026-03-02T10:00:00.000000Z"
    read = read_lines(lines(), KEY)
    assert (len(read.checkpoints), read.findings) == (3, [])


@pytest.mark.parametrize("field, value", [("seq", 5), ("hash", "d" * 64), ("incident", 7), ("at", "2027")])
def test_any_field_edited_by_hand_breaks_the_signature(field: str, value: object) -> None:
    edited = json.loads(lines()[1]) | {field: value}
    read = read_lines([lines()[0], json.dumps(edited), lines()[2]], KEY)
    assert [entry.number for entry in read.checkpoints] == [1, 3]
    assert read.findings[0].startswith("checkpoint line 2 (incident ")
    assert read.findings[0].endswith("bad signature (forged, or edited by hand)")


def test_without_a_key_an_edit_goes_unseen_but_a_removed_line_still_shows() -> None:
    edited = json.loads(lines()[1]) | {"hash": "d" * 64}
    assert read_lines([lines()[0], json.dumps(edited), lines()[2]], None).findings == []
    assert read_lines([lines()[0], lines()[2]], None).findings == [
        "checkpoint line 2: the line it follows is not in the file (lines removed)"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"v": 2}',
        json.dumps({"v": 1, "at": "x"}),
        lines()[0].replace('"seq":4', '"seq":true'),
    ],
)
def test_what_is_not_a_checkpoint_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(NotACheckpoint):
        parse_line(text)
    assert read_lines([text], KEY).findings[0].startswith("checkpoint line 1: unreadable (")


def heads_signer(heads: list[Head]) -> Callable[[dict[int, Head], str], list[Checkpoint]]:
    """What the periodic check passes to the file: sign the heads the file does not hold yet."""

    def sign(known: dict[int, Head], last_sig: str) -> list[Checkpoint]:
        return sign_heads(KEY, [h for h in heads if known.get(h.incident) != h], AT, last_sig)

    return sign


def test_the_file_learns_what_others_appended_and_writes_only_what_is_new(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    one, other = CheckpointFile(path, KEY), CheckpointFile(path, KEY)
    assert len(one.append(heads_signer(HEADS[:2]))) == 2
    assert [c.incident for c in other.append(heads_signer(HEADS))] == [3]
    assert one.append(heads_signer(HEADS)) == []
    assert read_lines(path.read_text().splitlines(), KEY).findings == []


def test_a_torn_last_line_is_ended_before_the_next_and_forged_lines_are_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    forged = json.loads(lines()[0]) | {"sig": "f" * 64}
    path.write_text(json.dumps(forged) + "\n" + lines()[1][:40])
    made = CheckpointFile(path, KEY).append(heads_signer(HEADS[:1]))
    assert [c.incident for c in made] == [1]  # the forged line did not count as checkpointing incident 1
    text = path.read_text().splitlines()
    assert text[1] == lines()[1][:40] and parse_line(text[2]) == made[0]


def test_a_replaced_file_is_read_afresh(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    log = CheckpointFile(path, KEY)
    log.append(heads_signer(HEADS))
    path.unlink()
    again = log.append(heads_signer(HEADS))
    assert [c.incident for c in again] == [1, 2, 3] and again[0].prev == GENESIS_HASH
