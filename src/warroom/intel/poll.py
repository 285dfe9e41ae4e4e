"""Polling a feed (the `intel.poll` job, on its own queue): fetch, read, and apply in one transaction, so a
poll is kept whole or not at all. A feed that fails says so on itself (last error, when) and is polled
again at its interval; it never holds up anything else."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import httpx
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import Collection, as_pages

from warroom.intel import feeds as read
from warroom.intel.misp_api import read_misp_instance
from warroom.intel.models import Feed, Indicator
from warroom.intel.vulns import apply_and_find, poll_cves
from warroom.jobs.kinds import JobRun
from warroom.jobs.service import JobSpec, enqueue
from warroom.lazy_import import imported

MAX_BYTES = 256 * 1_048_576
TIMEOUT_SECONDS = 60.0
POLL_KIND, HUNT_KIND = "intel.poll", "intel.hunt"
FEED_QUEUE, MATCH_QUEUE = "intel.feeds", "intel"
CHUNK = 500
_INDICATORS = cast(Table, Indicator.__table__)


def _read_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise read.FeedUnreadable(f"{path} is larger than {MAX_BYTES // 1_048_576} MiB")
        return path.read_bytes()
    except OSError as error:
        raise read.FeedUnreadable(f"cannot read {path}: {error.strerror}") from None


async def fetch(url: str) -> bytes:
    """A feed's bytes from http(s):// or file://; a size cap, a timeout, and the reason when it fails."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return await asyncio.to_thread(_read_file, Path(unquote(parts.path)))
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=True) as client:
            response = await client.get(url)
    except httpx.HTTPError as error:
        raise read.FeedUnreadable(f"cannot fetch {url}: {type(error).__name__}") from None
    if response.status_code != 200:
        raise read.FeedUnreadable(f"{url} answered {response.status_code}")
    if len(response.content) > MAX_BYTES:
        raise read.FeedUnreadable(f"{url} is larger than {MAX_BYTES // 1_048_576} MiB")
    return response.content


async def _misp(feed: Feed, defaults: read.Defaults) -> read.Parsed:
    root = feed.url.rstrip("/")
    parsed = read.Parsed()
    for event_id in read.misp_event_ids(read.json_of(await fetch(f"{root}/manifest.json"), "manifest.json")):
        document = read.json_of(await fetch(f"{root}/{event_id}.json"), f"event {event_id}")
        event = document.get("Event") if isinstance(document, dict) else None
        if not isinstance(event, dict):
            parsed.reject(f"event {event_id}: no Event in it")
            continue
        read.misp_event_indicators(event, defaults, parsed)
    return parsed


def _taxii_pages(feed: Feed) -> tuple[list[dict[str, Any]], str | None]:
    """Objects added since the feed's cursor, and the new cursor (the last `date_added` in the manifest):
    each poll fetches only what is new. Runs in a thread (taxii2-client is synchronous)."""
    options = feed.options or {}
    collection = Collection(feed.url, user=options.get("user"), password=options.get("password"))
    since = {"added_after": feed.cursor} if feed.cursor else {}
    added = [
        str(m.get("date_added"))
        for page in as_pages(collection.get_manifest, per_request=500, **since)
        for m in page.get("objects", [])
    ]
    objects = [
        o
        for page in as_pages(collection.get_objects, per_request=500, **since)
        for o in page.get("objects", [])
    ]
    return objects, max(added) if added else feed.cursor


async def _taxii(feed: Feed, defaults: read.Defaults) -> tuple[read.Parsed, str | None]:
    try:
        raw, cursor = await asyncio.to_thread(_taxii_pages, feed)
    except (TAXIIServiceException, OSError, ValueError) as error:
        raise read.FeedUnreadable(f"TAXII: {' '.join(str(error).split())[:300]}") from None
    return read.read_stix_objects(raw, defaults), cursor


async def read_feed(feed: Feed) -> tuple[read.Parsed, str | None]:
    defaults = read.Defaults(tlp=feed.tlp, confidence=feed.confidence, type=(feed.options or {}).get("type"))
    if feed.kind in ("taxii", "stix"):
        await imported("stix2")  # the parser, loaded off the event loop (intel.feeds)
    if feed.kind == "taxii":
        return await _taxii(feed, defaults)
    if feed.kind == "misp":
        return await _misp(feed, defaults), None
    if feed.kind == "misp-api":
        return await read_misp_instance(feed, defaults)
    content = await fetch(feed.url)
    if feed.kind == "stix":
        return read.read_stix(content, defaults), None
    if feed.kind == "csv":
        return read.read_csv(content, defaults, feed.options or {}), None
    return read.read_text(content, defaults), None


@dataclass
class Applied:
    added: int = 0
    updated: int = 0
    changed_ids: list[int] | None = None


FIELDS = (
    "type",
    "value",
    "pattern",
    "name",
    "confidence",
    "tlp",
    "valid_from",
    "valid_until",
    "revoked",
    "kill_chain_phases",
    "labels",
)


def _row_of(item: read.IndicatorIn) -> dict[str, Any]:
    return {name: getattr(item, name) for name in FIELDS}


async def _stored(session: AsyncSession, feed: Feed) -> dict[str, Any]:
    """The feed's indicators as plain rows, by source_ref, in one pass: a query per chunk of refs made
    PostgreSQL plan a sequential scan of a table that grew under it (0.5 s a chunk at 50,000 rows)."""
    table = _INDICATORS
    rows = await session.stream(
        select(table.c.id, table.c.source_ref, *(table.c[name] for name in FIELDS))
        .where(table.c.feed_id == feed.id)
        .execution_options(yield_per=5_000)
    )
    return {row.source_ref: row async for row in rows}


async def _apply_chunk(
    session: AsyncSession, feed: Feed, items: list[read.IndicatorIn], stored: dict[str, Any], now: datetime
) -> tuple[list[int], int, int]:
    """One chunk set-wise: the new ones in one multi-row insert, the changed ones in one executemany
    update (an ORM object per indicator cost about a millisecond a row on PostgreSQL)."""
    table = _INDICATORS
    fresh = [
        {"feed_id": feed.id, "source_ref": i.source_ref, "created_at": now, "updated_at": now, **_row_of(i)}
        for i in items
        if i.source_ref not in stored
    ]
    changed = [
        {"b_id": stored[i.source_ref].id, "updated_at": now, **_row_of(i)}
        for i in items
        if i.source_ref in stored
        and any(getattr(stored[i.source_ref], name) != getattr(i, name) for name in FIELDS)
    ]
    ids = []
    if fresh:
        ids += list(await session.scalars(insert(table).returning(table.c.id), fresh))
    if changed:
        await session.execute(update(table).where(table.c.id == bindparam("b_id")), changed)
        ids += [row["b_id"] for row in changed]
    return ids, len(fresh), len(changed)


async def apply(session: AsyncSession, feed: Feed, parsed: read.Parsed, now: datetime) -> Applied:
    """Insert what is new and update in place what changed (same source_ref); returns what changed."""
    applied, changed = Applied(), []
    items = list({item.source_ref: item for item in parsed.indicators}.values())
    stored = await _stored(session, feed)
    for start in range(0, len(items), CHUNK):
        ids, added, updated = await _apply_chunk(session, feed, items[start : start + CHUNK], stored, now)
        changed += ids
        applied.added, applied.updated = applied.added + added, applied.updated + updated
    applied.changed_ids = changed
    return applied


async def poll_feed(run: JobRun, payload: dict[str, Any]) -> None:
    """One poll of one feed; its outcome (counts, or the error) is written on the feed either way."""
    feed = await run.session.get(Feed, int(payload["feed_id"]))
    if feed is None or not feed.enabled:
        return
    feed.last_polled_at = run.now
    feed.next_poll_at = run.now + timedelta(seconds=feed.interval_seconds)
    try:
        if feed.kind == "cve":
            feed.last_counts = await poll_cves(run.session, feed, await fetch(feed.url), run.now)
            feed.last_success_at, feed.last_error = run.now, None
            return
        parsed, cursor = await read_feed(feed)
    except read.FeedUnreadable as error:
        feed.last_error = str(error)
        return
    applied = await apply(run.session, feed, parsed, run.now)
    feed.cursor, feed.last_success_at, feed.last_error = cursor, run.now, None
    counts = {"added": applied.added, "updated": applied.updated, "rejected": parsed.rejected}
    if parsed.vulnerabilities:
        counts |= await apply_and_find(run.session, feed, parsed.vulnerabilities, run.now)
    feed.last_counts = counts
    if parsed.problems:
        feed.last_error = f"{parsed.rejected} item(s) rejected, e.g. {parsed.problems[0]}"
    if applied.changed_ids:
        spec = JobSpec(HUNT_KIND, {"indicator_ids": applied.changed_ids[:50_000]}, queue=MATCH_QUEUE)
        await enqueue(session=run.session, spec=spec, now=run.now)


async def schedule_polls(session: AsyncSession, now: datetime) -> int:
    """A poll job for every enabled feed that is due; the next poll is set now, so it is queued once."""
    due = await session.scalars(
        select(Feed).where(Feed.enabled.is_(True), (Feed.next_poll_at.is_(None)) | (Feed.next_poll_at <= now))
    )
    count = 0
    for feed in due:
        feed.next_poll_at = now + timedelta(seconds=feed.interval_seconds)
        spec = JobSpec(POLL_KIND, {"feed_id": feed.id}, queue=FEED_QUEUE, max_attempts=1)
        await enqueue(session=session, spec=spec, now=now)
        count += 1
    return count
