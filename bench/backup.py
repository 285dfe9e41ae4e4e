"""`python -m bench.backup [--rows N]`: export/import figures for a large organisation, both directions.

Builds a SQLite database with the demo and N more rows (incidents with hash-chained timelines, as the
service writes them), then times, through the real console script: `warroom export` from SQLite, `warroom
import` into an empty PostgreSQL, `warroom export` from it, `warroom import` into an empty SQLite, each
`warroom backup` method, and `warroom audit verify` on the last copy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.databases import postgres_database
from warroom.models import Base
from warroom.timeline.domain import GENESIS_HASH, event_hash

WARROOM = Path(sys.executable).parent / "warroom"
EVENTS_PER_INCIDENT = 1000
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def warroom(args: list[str], url: str, data_dir: Path) -> tuple[str, float]:
    env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_DATA_DIR": str(data_dir), "NO_COLOR": "1"}
    started = time.perf_counter()
    done = subprocess.run([str(WARROOM), *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"warroom {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip(), time.perf_counter() - started


def _events(incident_id: int, count: int) -> tuple[list[dict[str, Any]], str]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        at = START + timedelta(seconds=incident_id * 10_000 + seq, microseconds=seq)
        data = {"text": f"step {seq} of the response", "links": [seq, seq * 2**40], "ok": seq % 2 == 0}
        digest = event_hash(
            incident_id=incident_id,
            seq=seq,
            at=at,
            actor="bench@warroom.local",
            kind="note",
            data=data,
            prev_hash=prev,
        )
        rows.append(
            {
                "incident_id": incident_id,
                "seq": seq,
                "at": at,
                "actor": "bench@warroom.local",
                "kind": "note",
                "data": data,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    return rows, prev


def fill(url: str, rows: int) -> None:
    """Copies of the demo's incident, each with EVENTS_PER_INCIDENT chained notes, until `rows` rows."""
    incidents, events = Base.metadata.tables["incidents"], Base.metadata.tables["timeline_events"]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        template = dict(conn.execute(incidents.select().where(incidents.c.id == 1)).one()._mapping)
        first = int(conn.execute(sa.select(sa.func.max(incidents.c.id))).scalar_one()) + 1
        for incident_id in range(first, first + rows // (EVENTS_PER_INCIDENT + 1)):
            batch, head = _events(incident_id, EVENTS_PER_INCIDENT)
            conn.execute(
                incidents.insert().values(
                    {
                        **template,
                        "id": incident_id,
                        "title": f"Copy {incident_id}",
                        "timeline_seq": len(batch),
                        "timeline_head": head,
                    }
                )
            )
            conn.execute(events.insert(), batch)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.backup", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as temp, postgres_database(Path(temp)) as pg_url:
        work, data_dir = Path(temp), Path(temp) / "var"
        source, copy = f"sqlite:///{work / 'source.db'}", f"sqlite:///{work / 'copy.db'}"
        for url in (source, pg_url, copy):
            warroom(["migrate"], url, data_dir)
        warroom(["demo"], source, data_dir)
        fill(source, rows)
        steps = [
            (["export", str(work / "a.jsonl.gz")], source),
            (["import", str(work / "a.jsonl.gz")], pg_url),
            (["export", str(work / "b.jsonl")], pg_url),
            (["import", str(work / "b.jsonl")], copy),
            (["backup", str(work / "c.sqlite")], source),
            (["backup", str(work / "d.dump")], pg_url),
            (["backup", str(work / "e.jsonl.gz"), "--method", "export"], pg_url),
            (["audit", "verify"], copy),
        ]
        for args, url in steps:
            said, seconds = warroom(args, url, data_dir)
            print(f"{'sqlite' if url.startswith('sqlite') else 'postgresql':>10}  {seconds:6.1f} s  {said}")


if __name__ == "__main__":
    main()
