"""A checkpoints file: JSON lines appended under an exclusive lock, so several workers on one host can share
one file, each learning from it what the others wrote instead of repeating it.

The writer reads only what was appended since its last look (the file's identity and size tell it when the
file was replaced or cut, and it then reads it whole again).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from warroom.timeline.checkpoints import Checkpoint, Head, NotACheckpoint, is_signed_by, parse_line
from warroom.timeline.domain import GENESIS_HASH

# Given the heads already checkpointed and the signature of the file's last line, the checkpoints to add.
Signer = Callable[[dict[int, Head], str], Sequence[Checkpoint]]


@dataclass
class CheckpointFile:
    """What one process knows of one file: where it stopped reading and the heads the file holds."""

    path: Path
    key: bytes
    heads: dict[int, Head] = field(default_factory=dict)
    last_sig: str = GENESIS_HASH
    _identity: tuple[int, int] | None = None
    _offset: int = 0

    def known_heads(self) -> dict[int, Head]:
        """Catch up with the file; the last head it holds of each chain."""
        fd = self._open_locked()
        try:
            self._catch_up(fd)
            return dict(self.heads)
        finally:
            os.close(fd)  # releases the lock

    def append(self, sign: Signer) -> list[Checkpoint]:
        """Catch up with the file, then append what `sign` makes of it, in one write, synced to disk."""
        fd = self._open_locked()
        try:
            torn = self._catch_up(fd)
            made = list(sign(dict(self.heads), self.last_sig))
            if made:
                text = "".join(f"{checkpoint.line()}\n" for checkpoint in made)
                os.write(fd, (b"\n" if torn else b"") + text.encode("utf-8"))
                os.fsync(fd)
                for checkpoint in made:
                    self._learn(checkpoint)
                self._offset = os.fstat(fd).st_size
            return made
        finally:
            os.close(fd)  # releases the lock

    def _open_locked(self) -> int:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            os.close(fd)
            raise
        return fd

    def _catch_up(self, fd: int) -> bool:
        """Read the lines added since the last look; True if the file ends in a torn (unfinished) line."""
        stat = os.fstat(fd)
        identity = (stat.st_dev, stat.st_ino)
        if identity != self._identity or stat.st_size < self._offset:
            self._identity, self._offset = identity, 0
            self.heads, self.last_sig = {}, GENESIS_HASH
        added = os.pread(fd, stat.st_size - self._offset, self._offset)
        complete, _, rest = added.rpartition(b"\n")
        self._offset += len(added) - len(rest)
        for line in complete.decode("utf-8", errors="replace").splitlines():
            self._learn_line(line)
        return bool(rest)

    def _learn_line(self, line: str) -> None:
        # Only lines this key signed count: a forged line must not make the writer skip a real head
        # (`audit verify --against` reports it).
        try:
            checkpoint = parse_line(line)
        except NotACheckpoint:
            return
        if is_signed_by(self.key, checkpoint):
            self._learn(checkpoint)

    def _learn(self, checkpoint: Checkpoint) -> None:
        known = self.heads.get(checkpoint.incident)
        if known is None or known.seq <= checkpoint.seq:
            self.heads[checkpoint.incident] = Head(checkpoint.incident, checkpoint.seq, checkpoint.hash)
        self.last_sig = checkpoint.sig
