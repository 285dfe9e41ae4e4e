"""A worker process caches the configuration its triage and escalation steps read (jobs.config_cache) and
trusts it only while the database's configuration token is unchanged: every write to a cached table
changes the token (migration 0037's triggers), a change made between two groups is honoured by the next
one, and unchanged configuration is read once. Both databases; on PostgreSQL the token is checked with
the commit, and a change made while a group runs fails it and its jobs run again on the new
configuration."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from tests.fakes.sink import Sink
from tests.integration.conftest import Api
from tests.integration.test_paging import fire, setup
from warroom.alerts.rules.models import AlertRule
from warroom.catalog.models import Service
from warroom.db import libpq_url
from warroom.jobs import held
from warroom.jobs.config_cache import COLUMNS, TABLE, TABLES, ConfigCache
from warroom.jobs.models import Job
from warroom.wiring import new_worker

_TOKEN = sa.text(f"SELECT token FROM {TABLE} WHERE id = 1")


async def token(api: Api) -> str:
    async with api.context.db.read() as session:
        found = await session.scalar(_TOKEN)
    assert isinstance(found, str)
    return found


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def every_cached_table_filled(api: Api, sink: Sink) -> str:
    """A row in each cached table: services, a policy and its steps, users' methods and rules, a routing
    rule, an alert rule and a maintenance window. Returns the integration key."""
    key = await setup(api, sink)
    methods = await ok(await api.responder.get("/api/v1/me/contact-methods"))
    rule = {"contact_method": methods[0]["id"], "delay_seconds": 0, "urgency": "high"}
    await ok(await api.responder.post("/api/v1/me/notification-rules", json=rule), 201)
    route = {"name": "all", "service": "checkout", "conditions": []}
    await ok(await api.admin.post("/api/v1/routing-rules", json=route), 201)
    alert_rule = {"name": "page", "action": "page", "conditions": []}
    await ok(await api.admin.post("/api/v1/services/checkout/alert-rules", json=alert_rule), 201)
    later = api.clock.now() + timedelta(days=30)
    window = {"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=1)).isoformat(),
              "reason": "upgrade"}  # fmt: skip
    await ok(await api.admin.post("/api/v1/services/checkout/maintenance", json=window), 201)
    return key


async def with_an_incident(api: Api) -> None:
    """An incident on `checkout` (a row in incidents and in incident_services); its paging is not run."""
    incident = {"title": "Checkout slow", "severity": "P3", "services": ["checkout"]}
    await ok(await api.responder.post("/api/v1/incidents", json=incident), 201)


async def test_every_write_to_a_cached_table_changes_the_token(api: Api, sink: Sink) -> None:
    await every_cached_table_filled(api, sink)
    await with_an_incident(api)
    for table in TABLES:
        before = await token(api)
        async with api.context.db.write() as session:
            changed = await session.execute(
                sa.text(f"UPDATE {table} SET id = id WHERE id = (SELECT min(id) FROM {table})")
            )
            assert changed.rowcount == 1, table  # type: ignore[attr-defined]
            await session.commit()
        assert await token(api) != before, f"an UPDATE of {table} left the token as it was"
    before = await token(api)
    await ok(await api.admin.delete("/api/v1/escalation-policies/checkout-oncall"), 204)  # steps cascade
    assert await token(api) != before


async def test_only_an_incidents_recovery_columns_change_the_token(api: Api, sink: Sink) -> None:
    """The last recovery on a service is cached (migration 0039); the timeline's writes to an incident
    must leave the cache alone."""
    await every_cached_table_filled(api, sink)
    await with_an_incident(api)
    for table, columns in COLUMNS.items():
        for column in columns:
            before = await token(api)
            await update_first(api, table, f"{column} = {column}")
            assert await token(api) != before, f"an UPDATE of {table}.{column} left the token as it was"
    before = await token(api)
    await update_first(api, "incidents", "title = 'renamed', timeline_seq = timeline_seq + 1")
    assert await token(api) == before


async def update_first(api: Api, table: str, assignments: str) -> None:
    async with api.context.db.write() as session:
        changed = await session.execute(
            sa.text(f"UPDATE {table} SET {assignments} WHERE id = (SELECT min(id) FROM {table})")
        )
        assert changed.rowcount == 1, table  # type: ignore[attr-defined]
        await session.commit()


async def test_alerts_paged_and_acknowledged_leave_the_token_alone(api: Api, sink: Sink) -> None:
    """The hot path writes no cached table: a cache that intake or paging invalidated would be useless."""
    key = await every_cached_table_filled(api, sink)
    before = await token(api)
    await fire(api, key)
    await new_worker(api.context, periodic=()).run_once()
    (alert,) = (await ok(await api.viewer.get("/api/v1/alerts")))["items"]
    await ok(await api.responder.post(f"/api/v1/alerts/{alert['id']}/acknowledge"))
    assert sink.received and await token(api) == before


@contextmanager
def statements(api: Api) -> Iterator[list[str]]:
    """Every statement the app's engine sends while the block runs."""
    sent: list[str] = []

    def log(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    engine = api.context.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", log)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", log)


def reads_of(sent: list[str], table: str) -> int:
    return sum(1 for statement in sent if f"FROM {table}" in statement and "UPDATE" not in statement)


async def test_unchanged_configuration_is_read_once_per_worker(api: Api, sink: Sink) -> None:
    key = await every_cached_table_filled(api, sink)
    worker = new_worker(api.context, periodic=())
    with statements(api) as first:
        await fire(api, key, dedup="one")
        await worker.run_once()
    with statements(api) as second:
        await fire(api, key, dedup="two")
        await worker.run_once()
    assert [r["path"] for r in sink.received] == ["/responder", "/responder"]
    for table in ("routing_rules", "alert_rules", "maintenance_windows", "escalation_steps",
                  "notification_rules", "contact_methods"):  # fmt: skip
        assert reads_of(first, table) >= 1 and reads_of(second, table) == 0, table
    # The one check that stands in for them: read first on SQLite, sent with the commit on PostgreSQL (as
    # `SELECT warroom_config_is(...)`, through psycopg: not seen here; test_pg_wire reads it off the wire).
    assert reads_of(second, TABLE) == (0 if api.context.db.dialect == "postgresql" else 1)


async def test_a_change_between_two_groups_is_honoured_by_the_next(api: Api, sink: Sink) -> None:
    key = await every_cached_table_filled(api, sink)
    worker = new_worker(api.context, periodic=())
    await fire(api, key, dedup="one")
    await worker.run_once()  # caches the routing, the rules, the plan
    await ok(await api.admin.post("/api/v1/services", json={"slug": "billing", "name": "Billing"}), 201)
    (route,) = await ok(await api.admin.get("/api/v1/routing-rules"))
    await ok(await api.admin.delete(f"/api/v1/routing-rules/{route['id']}"), 204)
    moved = {"name": "two to billing", "service": "billing",
             "conditions": [{"field": "dedup_key", "op": "equals", "value": "two"}]}  # fmt: skip
    await ok(await api.admin.post("/api/v1/routing-rules", json=moved), 201)
    (method,) = await ok(await api.responder.get("/api/v1/me/contact-methods"))
    patch = {"address": f"{sink.url}/responder-moved"}
    await ok(await api.responder.patch(f"/api/v1/me/contact-methods/{method['id']}", json=patch))
    await fire(api, key, dedup="two")
    await fire(api, key, dedup="three")
    await worker.run_once()
    items = (await ok(await api.viewer.get("/api/v1/alerts")))["items"]
    services = {alert["dedup_key"]: alert["service"] for alert in items}
    assert services == {"one": "checkout", "two": "billing", "three": "checkout"}
    assert [r["path"] for r in sink.received] == ["/responder", "/responder-moved"]
    assert await triage_jobs(api) == [("done", 1, None)] * 3  # a change between groups delays none


async def test_a_named_person_deactivated_between_two_groups_is_not_paged_by_the_next(
    api: Api, sink: Sink
) -> None:
    """Who a policy's step names is cached with the configuration (users are cached tables)."""
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await fire(api, key, dedup="one")
    with statements(api) as first:
        await worker.run_once()
    assert reads_of(first, "users") >= 1 and [r["path"] for r in sink.received] == ["/responder"]
    with statements(api) as cached:
        await fire(api, key, dedup="two")
        await worker.run_once()
    assert reads_of(cached, "users") == 0 and len(sink.received) == 2
    async with api.context.db.write() as session:
        await session.execute(sa.text("UPDATE users SET is_active = false WHERE email = :e"),
                              {"e": api.emails["responder"]})  # fmt: skip
        await session.commit()
    await fire(api, key, dedup="three")
    await worker.run_once()
    assert len(sink.received) == 2  # nobody active on the first step: nobody paged at once


@pytest.mark.parametrize("expired", [False, True])
async def test_only_fully_loaded_objects_are_kept(api: Api, expired: bool) -> None:
    """A savepoint rolled back expires what it loaded: such an object would need its closed session."""
    await ok(await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"}), 201)
    await ok(
        await api.admin.post("/api/v1/services/web/alert-rules", json={"name": "p", "action": "page"}), 201
    )
    cache = ConfigCache()
    async with api.context.db.write() as session:
        seen, _ = await cache.seed(session)
        rules = list(await session.scalars(sa.select(AlertRule)))
        if expired:
            session.expire(rules[0])
        await session.commit()
    cache.keep(seen, {"config:rules": rules, "config:slug": "web", "since": api.clock.now()})
    expected = {"config:slug"} if expired else {"config:rules", "config:slug"}
    assert set(cache.entries) == expected
    async with api.context.db.read() as session:
        assert (await cache.seed(session))[1].keys() == expected


async def test_a_group_that_saw_an_older_token_keeps_nothing(api: Api) -> None:
    cache = ConfigCache()
    async with api.context.db.read() as session:
        older, _ = await cache.seed(session)
    await ok(await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"}), 201)
    async with api.context.db.read() as session:
        newer, memo = await cache.seed(session)
    assert newer != older and memo == {}
    cache.keep(older, {"config:slug": "stale"})
    assert cache.entries == {}


def postgresql_only(api: Api) -> None:
    if api.context.db.dialect != "postgresql":
        pytest.skip("SQLite reads the token first: nothing is checked with the commit")


async def test_a_change_before_the_commit_fails_the_check(api: Api) -> None:
    postgresql_only(api)
    await ok(await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"}), 201)
    cache = ConfigCache()
    async with api.context.db.write() as session:
        seen, _ = await cache.seed(session)
        await session.commit()
    cache.keep(seen, {"config:slug": "web"})
    async with api.context.db.write() as session:
        held.hold(session)
        assert await cache.seed(session) == (seen, {"config:slug": "web"})  # nothing read
        await held.write(session, _RENAMED, {"b_name": "renamed by a stale group"})
        await ok(await api.admin.post("/api/v1/services", json={"slug": "api", "name": "API"}), 201)
        with pytest.raises(psycopg.errors.SerializationFailure, match="configuration changed"):
            await held.commit(session)
    async with api.context.db.read() as session:
        assert await session.scalar(sa.select(Service.name).where(Service.slug == "web")) == "Web"


_RENAMED = sa.update(Service).where(Service.slug == "web").values(name=sa.bindparam("b_name"))


async def test_a_groups_own_change_passes_its_check_and_anothers_before_it_does_not(api: Api) -> None:
    """A group that itself changes the configuration (a rule declaring an incident) is not failed by its
    own change; a change another transaction committed before it still fails it."""
    postgresql_only(api)
    await ok(await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"}), 201)
    for others_first in (False, True):
        cache = await cached_now(api)
        async with api.context.db.write() as session:
            held.hold(session)
            await cache.seed(session)
            if others_first:
                await ok(await api.admin.post("/api/v1/services", json={"slug": "api", "name": "API"}), 201)
            await session.execute(_RENAMED, {"b_name": f"renamed by the group, {others_first}"})
            await session.execute(_RENAMED, {"b_name": "and again"})  # its second change: still its own
            if others_first:
                with pytest.raises(psycopg.errors.SerializationFailure):
                    await held.commit(session)
            else:
                await held.commit(session)
    async with api.context.db.read() as session:
        assert await session.scalar(sa.select(Service.name).where(Service.slug == "web")) == "and again"


async def cached_now(api: Api) -> ConfigCache:
    """A cache holding an entry under the token as it is now."""
    cache = ConfigCache()
    async with api.context.db.write() as session:
        seen, _ = await cache.seed(session)
        await session.commit()
    cache.keep(seen, {"config:slug": "web"})
    assert cache.token == seen is not None
    return cache


async def test_a_change_while_a_group_runs_sends_its_page_to_the_new_address(api: Api, sink: Sink) -> None:
    """The contact method moves while the group pages from its cached plan: the group fails its
    check at the commit (nothing sent), and the worker runs its job again at once, reading afresh: the
    page goes to the new address, once, and the job is done at its first attempt."""
    postgresql_only(api)
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await fire(api, key, dedup="one")
    await worker.run_once()  # caches the plan
    (method,) = await ok(await api.responder.get("/api/v1/me/contact-methods"))
    moved: list[str] = []

    def move_midway(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO escalations") and not moved:
            moved.append(statement)
            with psycopg.connect(libpq_url(api.context.db.engine.url), autocommit=True) as other:
                other.execute(
                    "UPDATE contact_methods SET address = %s WHERE id = %s",
                    [f"{sink.url}/responder-moved", method["id"]],
                )

    engine = api.context.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", move_midway)
    try:
        await fire(api, key, dedup="two")
        await worker.run_once()
    finally:
        sa.event.remove(engine, "before_cursor_execute", move_midway)
    assert moved, "the page was never planned"
    assert [r["path"] for r in sink.received] == ["/responder", "/responder-moved"]
    assert await triage_jobs(api) == [("done", 1, None)] * 2


async def triage_jobs(api: Api) -> list[tuple[str, int, str | None]]:
    async with api.context.db.read() as session:
        jobs = await session.scalars(sa.select(Job).where(Job.kind == "alert.triage").order_by(Job.id))
        return [(job.state, job.attempts, job.last_error) for job in jobs]


async def test_a_listening_worker_forgets_its_cache_when_the_configuration_changes(
    api: Api, sink: Sink
) -> None:
    postgresql_only(api)
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=(), poll_seconds=0.1)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run_forever(stop))
    try:
        await fire(api, key, dedup="one")
        await until(lambda: bool(sink.received) and worker.config.token is not None)
        await ok(await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"}), 201)
        await until(lambda: worker.config.token is None)  # told by the NOTIFY: nothing polls it
    finally:
        stop.set()
        await asyncio.wait_for(running, DEADLINE)


DEADLINE = 30.0  # seconds: generous, for a busy machine; each wait ends as soon as its condition holds


async def until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(DEADLINE):
        while True:  # the worker's cache is polled: nothing here is told when it changes
            if check():
                return
            await asyncio.sleep(0.02)
