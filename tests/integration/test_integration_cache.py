"""Intake's integration cache (alerts/integrations.py): one lookup per key at a time, and a lookup that
began before the cache was told to forget stores nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.integration.conftest import Api
from tests.integration.test_intake import integration, pd_event
from warroom.alerts.integrations import IntegrationCache


@contextmanager
def integration_reads(api: Api) -> Iterator[list[str]]:
    """The statements that read the integrations table by key, while the block runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2]).replace('"', "")  # (SQLite quotes the column `key`)
        if "FROM integrations" in statement and "integrations.key =" in statement:
            seen.append(statement)

    engine = api.context.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_requests_arriving_while_a_key_is_looked_up_share_the_lookup(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    assert api.context.intake is not None
    api.context.intake.cache.forget()
    with integration_reads(api) as reads:
        answers = await asyncio.gather(
            *(api.anonymous.post("/v2/enqueue", json=pd_event(key, dedup=f"d-{n}")) for n in range(40))
        )
    assert [a.status_code for a in answers] == [202] * 40, answers[0].text
    assert len(reads) == 1


async def test_a_lookup_begun_before_forget_stores_nothing(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    cache = IntegrationCache()
    begun = asyncio.create_task(cache.find(api.context.db, key))
    await asyncio.sleep(0)  # the lookup is in flight
    cache.forget()  # e.g. the key was rotated meanwhile
    assert (await begun) is not None  # it still answers the requests that waited on it
    assert key not in cache.entries
    with integration_reads(api) as reads:
        assert (await cache.find(api.context.db, key)) is not None
    assert len(reads) == 1  # looked up afresh
    assert key in cache.entries


async def test_an_unknown_key_is_refused_and_remembered_as_unknown(api: Api) -> None:
    cache = IntegrationCache()
    with integration_reads(api) as reads:
        found = await asyncio.gather(*(cache.find(api.context.db, "no-such-key") for _ in range(5)))
        again = await cache.find(api.context.db, "no-such-key")
    assert found == [None] * 5 and again is None
    assert len(reads) == 1
