"""Content-addressed storage of evidence files: `<dir>/ab/cd/<sha256>`, written to a temporary file while
hashing and renamed into place, so a file under its name is always whole; the same content is stored once.
Files are never executed or served inline; the directory should be on storage only warroom can write."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1_048_576


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is over the evidence limit of {limit // 1_048_576} MiB")


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


def path_of(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


async def store(root: Path, chunks: AsyncIterator[bytes], limit: int) -> Stored:
    """Hash and write `chunks`; over `limit` bytes nothing is kept (TooLarge)."""
    (root / "incoming").mkdir(parents=True, exist_ok=True)
    draft = root / "incoming" / f"{os.getpid()}-{secrets.token_hex(8)}"
    digest, size = hashlib.sha256(), 0
    try:
        with draft.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(limit)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        final = path_of(root, digest.hexdigest())
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            draft.unlink()
        else:
            draft.replace(final)
    finally:
        draft.unlink(missing_ok=True)
    return Stored(digest.hexdigest(), size)


def check(root: Path, sha256: str) -> str | None:
    """None when the file is there with this hash; else what is wrong with it."""
    path = path_of(root, sha256)
    if not path.is_file():
        return "its file is missing"
    digest = hashlib.sha256()
    with path.open("rb") as found:
        while block := found.read(CHUNK):
            digest.update(block)
    return (
        None if digest.hexdigest() == sha256 else f"its file no longer matches (sha256 {digest.hexdigest()})"
    )


def read_chunks(root: Path, sha256: str) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        with path_of(root, sha256).open("rb") as found:
            while block := found.read(CHUNK):
                yield block

    return chunks()
