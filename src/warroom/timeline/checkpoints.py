"""Signed checkpoints of the timeline's chains: pure rules over plain values.

A hash chain proves that no one edited a recorded event, but anyone who can write to the database can
rewrite a whole chain and recompute every hash. A checkpoint anchors a chain's head (incident, last event
number, last hash) outside the database, signed with HMAC-SHA256 under a key the database never holds:
a chain rewritten before a checkpoint no longer matches it, and a checkpoint cannot be forged without the
key. Each checkpoint is one JSON line; each names the signature of the line written before it (`prev`),
so removing a line from the middle of a file shows too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warroom.timeline.domain import GENESIS_HASH, canonical_time

VERSION = 1
FIELDS = ("v", "at", "incident", "seq", "hash", "prev")


@dataclass(frozen=True)
class Checkpoint:
    """One chain's head at `at`, signed (`sig`) over every other field."""

    at: str
    incident: int
    seq: int
    hash: str
    prev: str
    sig: str

    def body(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "at": self.at,
            "incident": self.incident,
            "seq": self.seq,
            "hash": self.hash,
            "prev": self.prev,
        }

    def line(self) -> str:
        """The JSON line as written to a checkpoints file and sent to a witness (no newline)."""
        return json.dumps(self.body() | {"sig": self.sig}, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Head:
    incident: int
    seq: int
    hash: str


def signature(key: bytes, body: Mapping[str, Any]) -> str:
    message = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_heads(key: bytes, heads: Iterable[Head], at: datetime, prev: str) -> list[Checkpoint]:
    """Checkpoints of `heads`, each chained to the one before it (the first to `prev`)."""
    made: list[Checkpoint] = []
    for head in heads:
        draft = Checkpoint(canonical_time(at), head.incident, head.seq, head.hash, prev, sig="")
        prev = signature(key, draft.body())
        made.append(Checkpoint(draft.at, draft.incident, draft.seq, draft.hash, draft.prev, prev))
    return made


class NotACheckpoint(ValueError):
    """A line that does not parse as a checkpoint."""


def parse_line(line: str) -> Checkpoint:
    try:
        data = json.loads(line)
    except ValueError:
        raise NotACheckpoint("not JSON") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise NotACheckpoint(f"not a version {VERSION} checkpoint")
    if set(data) != {*FIELDS, "sig"}:
        raise NotACheckpoint(f"fields {sorted(data)}, expected {sorted({*FIELDS, 'sig'})}")
    texts, numbers = ("at", "hash", "prev", "sig"), ("incident", "seq")
    if not all(isinstance(data[name], str) for name in texts) or not all(
        type(data[name]) is int and data[name] > 0 for name in numbers
    ):
        raise NotACheckpoint("a field has the wrong type")
    return Checkpoint(data["at"], data["incident"], data["seq"], data["hash"], data["prev"], data["sig"])


def is_signed_by(key: bytes, checkpoint: Checkpoint) -> bool:
    return hmac.compare_digest(signature(key, checkpoint.body()), checkpoint.sig)


@dataclass(frozen=True)
class NumberedCheckpoint:
    number: int  # the line's number in its file, from 1
    checkpoint: Checkpoint


@dataclass(frozen=True)
class ReadLines:
    """A checkpoints file read: what parsed, and one finding per line that did not (or is not linked)."""

    checkpoints: list[NumberedCheckpoint]
    findings: list[str]


def read_lines(lines: Iterable[str], key: bytes | None) -> ReadLines:
    """Parse every non-empty line; with a key, drop (and report) each line whose signature is wrong; report
    each line whose `prev` names no line of the file (a line before it was removed)."""
    kept: list[NumberedCheckpoint] = []
    findings: list[str] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            checkpoint = parse_line(text)
        except NotACheckpoint as error:
            findings.append(f"checkpoint line {number}: unreadable ({error})")
            continue
        if key is not None and not is_signed_by(key, checkpoint):
            findings.append(
                f"checkpoint line {number} (incident {checkpoint.incident}, event #{checkpoint.seq}): "
                "bad signature (forged, or edited by hand)"
            )
            continue
        kept.append(NumberedCheckpoint(number, checkpoint))
    signatures = {entry.checkpoint.sig for entry in kept}
    for entry in kept:
        if entry.checkpoint.prev not in signatures and entry.checkpoint.prev != GENESIS_HASH:
            findings.append(
                f"checkpoint line {entry.number}: the line it follows is not in the file (lines removed)"
            )
    return ReadLines(kept, findings)


def head_finding(entry: NumberedCheckpoint, chain_hash: str | None, incident_exists: bool) -> str | None:
    """What is wrong with the chain against one checkpoint, or None: the checkpointed event must still be
    there, with the checkpointed hash."""
    checkpoint = entry.checkpoint
    where = f"incident {checkpoint.incident}, event #{checkpoint.seq}"
    source = f"checkpoint line {entry.number} of {checkpoint.at}"
    if not incident_exists:
        return f"{where}: the incident is gone, but {source} holds it (deleted)"
    if chain_hash is None:
        return f"{where}: missing, but {source} holds it (chain truncated)"
    if not hmac.compare_digest(chain_hash, checkpoint.hash):
        return f"{where}: hash differs from {source} (chain rewritten)"
    return None
