"""scrub stored acknowledge links from job payloads and page bodies

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-04 21:30:00.000000

A page's acknowledge link acknowledges as the person paged, so it is a credential; it used to be written
into the `notify.send` job's payload (`ack_url`) and into the message body (an `Acknowledge: http...`
line), both readable by other people. It is now minted when the message is sent. This revision removes
the stored copies; queued pages still carry a fresh link when they go out. Data only: no schema change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000  # rows read at a time, so a long history does not sit in memory at once
ACK_LINE = re.compile(r"^Acknowledge: https?://\S*\n?", re.MULTILINE)

_jobs = sa.table(
    "jobs", sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("payload", sa.JSON)
)
_messages = sa.table(
    "outgoing_messages",
    sa.column("id", sa.Integer),
    sa.column("escalation_id", sa.Integer),
    sa.column("body", sa.Text),
)


def scrubbed_body(body: str) -> str:
    return ACK_LINE.sub("", body).rstrip("\n")


def _pages(
    conn: sa.Connection, query: sa.Select[Any], id_column: sa.ColumnElement[int]
) -> Iterator[Sequence[Any]]:
    """The rows of `query` in id order, BATCH at a time."""
    last = 0
    while True:
        rows = conn.execute(query.where(id_column > last).order_by(id_column).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _scrub_jobs(conn: sa.Connection) -> None:
    query = sa.select(_jobs.c.id, _jobs.c.payload).where(
        _jobs.c.kind == "notify.send", sa.cast(_jobs.c.payload, sa.Text).like('%"ack_url"%')
    )
    for rows in _pages(conn, query, _jobs.c.id):
        changed = [
            {"b_id": job_id, "b_payload": {k: v for k, v in payload.items() if k != "ack_url"}}
            for job_id, payload in rows
            if "ack_url" in payload
        ]
        if changed:
            conn.execute(
                sa.update(_jobs)
                .where(_jobs.c.id == sa.bindparam("b_id"))
                .values(payload=sa.bindparam("b_payload")),
                changed,
            )


def _scrub_messages(conn: sa.Connection) -> None:
    query = sa.select(_messages.c.id, _messages.c.body).where(
        _messages.c.escalation_id.is_not(None), _messages.c.body.like("%Acknowledge: http%")
    )
    for rows in _pages(conn, query, _messages.c.id):
        changed = [
            {"b_id": message_id, "b_body": scrubbed_body(body)}
            for message_id, body in rows
            if scrubbed_body(body) != body
        ]
        if changed:
            conn.execute(
                sa.update(_messages)
                .where(_messages.c.id == sa.bindparam("b_id"))
                .values(body=sa.bindparam("b_body")),
                changed,
            )


def scrub(conn: sa.Connection) -> None:
    """Both scrubs on `conn` (a test runs it on rows as the old code wrote them); a rerun changes nothing."""
    _scrub_jobs(conn)
    _scrub_messages(conn)


def upgrade() -> None:
    scrub(op.get_bind())


def downgrade() -> None:
    # Nothing to put back: the links were credentials, and the code before this revision sends a page
    # without one when its job has no `ack_url`.
    pass
