"""libpq's trace of an engine's connections (PostgreSQL): what went over the wire, and how many waits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine


class Wire:
    """libpq's trace of every connection an engine checks out while it is on, one file each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[Path] = []
        self._open: dict[int, IO[str]] = {}

    def checked_out(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        path = self.folder / f"trace-{len(self.files)}.txt"
        self.files.append(path)
        self._open[id(dbapi_connection)] = out = path.open("w")
        dbapi_connection.driver_connection.pgconn.trace(out.fileno())

    def checked_in(self, dbapi_connection: Any, _record: Any) -> None:
        if (out := self._open.pop(id(dbapi_connection), None)) is not None:
            dbapi_connection.driver_connection.pgconn.untrace()
            out.close()

    def lines(self) -> list[list[str]]:
        """Each message's fields (time, F or B, length, message, its text), every traced connection's in
        order, one connection after another."""
        messages: list[list[str]] = []
        for path in self.files:
            for line in path.read_text().splitlines():
                fields = line.split("\t")
                if len(fields) >= 4:
                    messages.append(fields)
                else:  # a statement's text runs on over lines
                    messages[-1][-1] += f" {line}".rstrip()
        return messages

    def waits(self) -> int:
        """Round trips: the server said it was ready for the next query."""
        return sum(1 for fields in self.lines() if fields[1] == "B" and fields[3] == "ReadyForQuery")

    def batches(self) -> list[list[str]]:
        """The statements sent between one wait and the next: each list went out before one answer."""
        batches: list[list[str]] = [[]]
        for fields in self.lines():
            if fields[1] == "F" and fields[3] in ("Parse", "Query"):
                batches[-1].append(_text(fields))
            elif fields[1] == "B" and fields[3] == "ReadyForQuery":
                batches.append([])
        return [batch for batch in batches if batch]

    def sent(self) -> list[str]:
        """The statements' texts, as parsed (extended protocol) or sent as a simple query."""
        return [text for batch in self.batches() for text in batch]


def _text(fields: list[str]) -> str:
    found = (_PARSED if fields[3] == "Parse" else _QUERY).fullmatch(fields[4])
    assert found is not None, fields
    return found.group(1)


_PARSED = re.compile(r' "[^"]*" "(.*)" \d+(?: \d+)*')  # name, text, parameters' types
_QUERY = re.compile(r' "(.*)"')


@contextmanager
def traced(engine: AsyncEngine, folder: Path) -> Iterator[Wire]:
    """Trace the connections `engine` checks out meanwhile (nothing on SQLite: it has no wire)."""
    wire = Wire(folder)
    if engine.dialect.name != "postgresql":
        yield wire
        return
    pool = engine.sync_engine.pool
    sa.event.listen(pool, "checkout", wire.checked_out, insert=True)  # before the ping
    sa.event.listen(pool, "checkin", wire.checked_in)
    try:
        yield wire
    finally:
        sa.event.remove(pool, "checkout", wire.checked_out)
        sa.event.remove(pool, "checkin", wire.checked_in)
