"""Writes a job group holds to its end: sent there together with its commit, one round trip for them all.

A group of triage or escalation-step jobs ends with writes nobody in the transaction reads back (the
alerts' "paged" events, the escalations' counters, the next steps' jobs, the NOTIFY, the jobs marked
done). Each was a round trip of its own, and in a storm every round trip waits for the worker and the
database's backend to be scheduled again: on two cores, one of them cost more than its statement. The
worker opens such a group's session holding writes (`hold`); `write` then keeps a statement for the end
rather than run it, and `commit` sends what was kept and the commit in one pipeline (db.send_then_commit). A
session that does not hold writes (an API request, any other job) runs each `write` at once, as before.

What is held must not be read back in the same transaction (it is not there yet) and must not need an
answer: an INSERT is built `.inline()`, or SQLAlchemy would read its new id back (RETURNING) and, in the
pipeline, find nothing. A savepoint that rolls back drops what was held inside it
(jobs.service.savepoint). Committing a session with writes still held raises: they would be lost."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from warroom.db import Params, send_then_commit

HELD = "warroom.jobs.held"


def hold(session: AsyncSession) -> None:
    """From now on, `write` on this session keeps its statement for `commit`."""
    session.info[HELD] = []


def held_count(session: AsyncSession) -> int | None:
    """How many writes are held (a savepoint's mark); None if the session holds none."""
    held = session.info.get(HELD)
    return None if held is None else len(held)


def drop_after(session: AsyncSession, mark: int | None) -> None:
    """Drop the writes held after `mark` (their savepoint rolled back)."""
    held = session.info.get(HELD)
    if held is not None and mark is not None:
        del held[mark:]


async def write(session: AsyncSession, statement: Executable, params: Params = None) -> None:
    """Run a statement whose answer nobody reads: at the end of the transaction if the session holds
    writes, else now."""
    held: list[tuple[Executable, Params]] | None = session.info.get(HELD)
    if held is None:
        await session.execute(statement, params)
    else:
        held.append((statement, params))


async def write_soon(session: AsyncSession, statement: Executable, params: Params = None) -> None:
    """Run a statement whose answer nobody reads, though the transaction's later statements may read what
    it wrote: if the session holds writes, on PostgreSQL it goes out with the next statement, in one
    pipeline (pg_wire.owe_write: no wait of its own); else now."""
    if HELD in session.info and session.get_bind().dialect.name == "postgresql":
        from warroom import pg_wire  # psycopg: imported only where PostgreSQL is used

        await pg_wire.owe_write(session, statement, params)
    else:
        await session.execute(statement, params)


async def commit(session: AsyncSession) -> None:
    """Send the held writes in order, then commit: on PostgreSQL as one pipeline (db.send_then_commit)."""
    await send_then_commit(session, session.info.pop(HELD, None) or [])


@event.listens_for(Session, "before_commit")
def _refuse_lost_writes(session: Session) -> None:
    if session.info.get(HELD) and not session.in_nested_transaction():  # a savepoint's release keeps them
        raise RuntimeError("a transaction committed with writes still held: use jobs.held.commit")


@event.listens_for(Session, "after_transaction_end")
def _forget_held(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the transaction ended (committed or rolled back): nothing carries on
        session.info.pop(HELD, None)
