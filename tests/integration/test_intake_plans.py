"""Every query on the intake hot path uses an index, so intake does not slow down as alerts pile up.

Checked with EXPLAIN on PostgreSQL (seq scans disabled, so the planner shows whether an index *can* serve).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import empty_all_tables
from warroom.db import sync_url

pytestmark = pytest.mark.postgres

STATEMENTS = {
    "integration by key": "SELECT * FROM integrations WHERE key = 'k'",
    "open alert by key (ack/resolve)": (
        "UPDATE alerts SET status = 'acknowledged' WHERE integration_id = 1 AND dedup_key = 'd' "
        "AND status = 'triggered'"
    ),
    "open alert by key (resolve)": (
        "UPDATE alerts SET status = 'resolved' "
        "WHERE integration_id = 1 AND dedup_key = 'd' AND status <> 'resolved'"
    ),
    "alert by uid (Opsgenie id)": "SELECT dedup_key FROM alerts WHERE integration_id = 1 AND uid = 'u'",
    "Opsgenie request status": "SELECT * FROM raw_events WHERE request_id = 'r' AND integration_id = 1",
    "due jobs": (
        "SELECT id FROM jobs WHERE state = 'pending' AND run_at <= now() ORDER BY run_at, id LIMIT 32 "
        "FOR UPDATE SKIP LOCKED"
    ),
}


@pytest.fixture
def plans_db(postgresql_database: str) -> Iterator[str]:
    """The session's PostgreSQL database, left as found: a rolled-back insert still advances its sequence,
    and the next test on this database expects ids from 1."""
    try:
        yield postgresql_database
    finally:
        empty_all_tables(postgresql_database)


@pytest.fixture
def pg(plans_db: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(sync_url(plans_db))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SET enable_seqscan = off"))
            yield conn
    finally:
        engine.dispose()


def plan(conn: sa.Connection, statement: str) -> str:
    return "\n".join(row[0] for row in conn.execute(sa.text(f"EXPLAIN {statement}")))


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_hot_path_statement_uses_an_index(pg: sa.Connection, name: str) -> None:
    text = plan(pg, STATEMENTS[name])
    assert "Seq Scan" not in text, text
    assert "Index" in text, text


def test_the_alerts_list_first_page_reads_an_index_in_order(pg: sa.Connection) -> None:
    """GET /api/v1/alerts, unfiltered: newest first, straight off an index (no sort of every alert)."""
    text = plan(pg, "SELECT * FROM alerts ORDER BY last_seen_at DESC, id DESC LIMIT 50")
    assert "ix_alerts_last_seen_id" in text and "Sort" not in text and "Seq Scan" not in text, text


def test_the_dedup_upsert_arbitrates_on_the_open_alert_index(pg: sa.Connection) -> None:
    text = plan(
        pg,
        "INSERT INTO alerts (uid, integration_id, dedup_key, status, severity, title, description, "
        "source, labels, links, details, first_seen_at, last_seen_at, count, triaged) "
        "VALUES ('u', 1, 'd', 'triggered', 'error', 't', '', '', '{}', '[]', '{}', now(), now(), 1, false) "
        "ON CONFLICT (integration_id, dedup_key) "
        "WHERE status <> 'resolved' DO UPDATE SET count = alerts.count + 1",
    )
    assert "Conflict Arbiter Indexes: uq_alerts_open_dedup" in text, text


def grow_without_statistics(conn: sa.Connection, alerts: int) -> None:
    """`alerts` triggered alerts written since the table was last analysed, in the caller's transaction."""
    made = "INSERT INTO services (slug, name, description, created_at) VALUES ('p', 'P', '', now())"
    service = conn.execute(sa.text(made + " RETURNING id")).scalar_one()
    integration = conn.execute(sa.text(
        "INSERT INTO integrations (service_id, kind, key, name, config, rate_limit_per_minute, created_at) "
        "VALUES (:s, 'webhook', 'plans-key', 'plans', '{}', 60, now()) RETURNING id"), {"s": service}
    ).scalar_one()  # fmt: skip
    conn.execute(sa.text(
        "INSERT INTO alerts (uid, integration_id, dedup_key, status, severity, title, description, source, "
        "labels, links, details, first_seen_at, last_seen_at, count, triaged) "
        "SELECT 'plans-' || n, :i, 'k' || n, 'triggered', 'error', 't', '', '', '{}', '[]', '{}', now(), "
        "now() - n * interval '1 second', 1, true FROM generate_series(1, :n) AS n"),
        {"i": integration, "n": alerts},
    )  # fmt: skip


def most_rows_read(conn: sa.Connection, statement: str) -> int:
    """The most rows any step of `statement`'s plan produced, run for real (EXPLAIN ANALYZE)."""
    (document,) = conn.execute(sa.text(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}")).one()

    def rows(node: dict[str, Any]) -> int:
        return max([int(node["Actual Rows"]), *(rows(child) for child in node.get("Plans", []))])

    return rows(document[0]["Plan"])


def test_the_capped_count_stops_at_its_cap_before_statistics(plans_db: str) -> None:
    """The dashboard's count of triggered alerts, compiled from the service's own builder, on a table grown
    to 20,000 alerts since it was last analysed, planned as the service plans it: no step reads more than
    the cap (PostgreSQL's bitmap scan read every match first: 54 ms at a million)."""
    from sqlalchemy.dialects import postgresql

    from warroom.alerts.domain import COUNT_CAP
    from warroom.alerts.service import WITHOUT_BITMAPS, AlertFilter, capped_count_query
    from warroom.incidents.visibility import SYSTEM

    query = capped_count_query(AlertFilter(status=("triggered",)), SYSTEM)
    statement = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    engine = sa.create_engine(sync_url(plans_db))
    try:
        with engine.connect() as conn:
            grow_without_statistics(conn, 20_000)
            assert most_rows_read(conn, statement) > COUNT_CAP + 1  # as it was: this check can fail
            conn.execute(sa.text(WITHOUT_BITMAPS))
            assert most_rows_read(conn, statement) == COUNT_CAP + 1
            conn.rollback()
    finally:
        engine.dispose()


def test_open_alerts_newest_first_reads_an_index_in_order_before_statistics(pg: sa.Connection) -> None:
    """The alerts page's default (open alerts), compiled from the service's own query builder, on a table
    grown to 20,000 alerts since it was last analysed (the bench found the page at 285 ms at a million:
    PostgreSQL sorted every open alert). Written in a transaction that is rolled back."""
    from sqlalchemy.dialects import postgresql

    from warroom.alerts.service import AlertFilter, newest_first
    from warroom.incidents.visibility import SYSTEM

    def compiled(query: sa.Select[Any]) -> str:
        return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    grow_without_statistics(pg, 20_000)
    try:
        open_page = newest_first(AlertFilter(status=("triggered", "acknowledged")), SYSTEM).limit(50)
        text = plan(pg, compiled(open_page))
        assert "Sort" not in text and "ix_alerts_last_seen_id" in text, text
        in_list = compiled(open_page).replace("!= 'resolved'", "IN ('triggered', 'acknowledged')")
        assert "IN (" in in_list, in_list
        as_a_list = plan(pg, in_list)
        assert "Sort" in as_a_list, as_a_list  # what the page ran before: this check can fail
    finally:
        pg.rollback()


def _results_update(statement: str, keys: str) -> str:
    """A backlog pass's results update (store.RAW_RESULT) for the 200 oldest raw requests, its arrays
    read by subqueries in place of the driver's parameters."""
    oldest = f"(SELECT {keys} FROM raw_events ORDER BY id LIMIT 200) AS oldest"
    arrays = [f"(SELECT array_agg('{{}}'::text) FROM {oldest})"]
    arrays += [f"(SELECT array_agg({key}) FROM {oldest})" for key in keys.split(", ")]
    return statement.replace("%s", "{}").format(*arrays)


def test_a_backlog_pass_looks_up_raw_requests_by_index_before_statistics(plans_db: str) -> None:
    """The intake backlog's claim (alerts/intake/backlog.py) on raw_events grown to 20,000 requests since
    it was last analysed, 2,000 of them in the backlog: neither the claim nor the results update reads more
    than the pass's 200 (joined by request id, each hashed every raw request on each pass: 64-141 ms and
    32 ms a pass in the bench's storms)."""
    from sqlalchemy.dialects import postgresql

    from warroom.alerts.intake.backlog import _oldest
    from warroom.alerts.intake.store import RAW_RESULT

    def compiled(query: sa.Select[Any]) -> str:
        return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    engine = sa.create_engine(sync_url(plans_db))
    try:
        with engine.connect() as conn:
            grow_without_statistics(conn, 1)
            conn.execute(sa.text(
                "INSERT INTO raw_events (request_id, integration_id, received_at, content_type, headers, "
                "body, route, result) SELECT 'r' || n, (SELECT max(id) FROM integrations), "
                "now() - n * interval '1 millisecond', 'application/json', '{}', '{}', '{}', '{}' "
                "FROM generate_series(1, 20000) AS n"))  # fmt: skip
            conn.execute(sa.text(
                "INSERT INTO intake_backlog (request_id, integration_id, received_at) "
                "SELECT request_id, integration_id, received_at FROM raw_events "
                "ORDER BY received_at LIMIT 2000"
            ))  # fmt: skip
            assert most_rows_read(conn, compiled(_oldest(200, "postgresql"))) == 200
            plain_join = compiled(_oldest(200, "sqlite"))  # SQLite's form, as PostgreSQL ran it before
            assert most_rows_read(conn, plain_join) >= 20_000  # this check can fail
            assert most_rows_read(conn, _results_update(RAW_RESULT["postgresql"], "id, received_at")) <= 200
            by_request_id = (  # as it was
                "UPDATE raw_events AS r SET result = v.result::json FROM unnest(%s::text[], %s::varchar[])"
                " AS v(result, request_id) WHERE r.request_id = v.request_id"
            )
            assert most_rows_read(conn, _results_update(by_request_id, "request_id")) >= 20_000
            conn.rollback()
    finally:
        engine.dispose()
