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
        self.files: list[tuple[Path, int]] = []  # each checkout's trace, and whose (the connection's id)
        self._open: dict[int, IO[str]] = {}

    def checked_out(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        path = self.folder / f"trace-{len(self.files)}.txt"
        self.files.append((path, id(dbapi_connection)))
        self._open[id(dbapi_connection)] = out = path.open("w")
        dbapi_connection.driver_connection.pgconn.trace(out.fileno())

    def checked_in(self, dbapi_connection: Any, _record: Any) -> None:
        if (out := self._open.pop(id(dbapi_connection), None)) is not None:
            dbapi_connection.driver_connection.pgconn.untrace()
            out.close()

    def mark(self) -> int:
        """Where the checkouts from now on start: `since` for waits and batches of what follows only."""
        return len(self.files)

    def _messages(self, since: int = 0) -> list[tuple[int, list[str]]]:
        messages: list[tuple[int, list[str]]] = []
        for path, owner in self.files[since:]:
            for line in path.read_text().splitlines():
                fields = line.split("\t")
                if len(fields) >= 4:
                    messages.append((owner, fields))
                else:  # a statement's text runs on over lines
                    messages[-1][1][-1] += f" {line}".rstrip()
        return messages

    def lines(self, since: int = 0) -> list[list[str]]:
        """Each message's fields (time, F or B, length, message, its text), every traced connection's in
        order, one connection after another."""
        return [fields for _owner, fields in self._messages(since)]

    def waits(self, since: int = 0) -> int:
        """Round trips: the server said it was ready for the next query."""
        return sum(1 for fields in self.lines(since) if fields[1] == "B" and fields[3] == "ReadyForQuery")

    def batches(self, since: int = 0) -> list[list[str]]:
        """The statements sent between one wait and the next: each list went out before one answer. A
        statement prepared by name (psycopg's executemany, or one run often) is parsed once and run by its
        name (Bind) after: each run is listed, its text found from its connection's traced Parse."""
        prepared = {
            (owner, named.group(1)): _text(fields)
            for owner, fields in self._messages()
            if fields[1] == "F" and fields[3] == "Parse" and (named := _PREPARED.match(fields[4]))
        }
        batches: list[list[str]] = [[]]
        for owner, fields in self._messages(since):
            sent, message = fields[1] == "F", fields[3]
            if sent and (message == "Query" or (message == "Parse" and not _PREPARED.match(fields[4]))):
                batches[-1].append(_text(fields))
            elif sent and message == "Bind" and (named := _BOUND.match(fields[4])):
                batches[-1].append(prepared.get((owner, named.group(1)), f"(prepared {named.group(1)})"))
            elif fields[1] == "B" and fields[3] == "ReadyForQuery":
                batches.append([])
        return [batch for batch in batches if batch]

    def sent(self, since: int = 0) -> list[str]:
        """The statements' texts, as parsed (extended protocol) or sent as a simple query."""
        return [text for batch in self.batches(since) for text in batch]


def _text(fields: list[str]) -> str:
    found = (_PARSED if fields[3] == "Parse" else _QUERY).fullmatch(fields[4])
    assert found is not None, fields
    return found.group(1)


_PARSED = re.compile(r' "[^"]*" "(.*)" \d+(?: \d+)*')  # name, text, parameters' types
_QUERY = re.compile(r' "(.*)"')
_PREPARED = re.compile(r' "([^"]+)" ')  # a Parse that names its statement
_BOUND = re.compile(r' "[^"]*" "([^"]+)" ')  # a Bind (portal, statement) of a statement prepared by name


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
