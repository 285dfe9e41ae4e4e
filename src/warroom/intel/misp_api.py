"""A MISP instance's REST search (`misp-api` feeds) through `pymisp`: the events changed since the last
poll, only attributes flagged for detection, page by page. The cursor is the latest event timestamp seen;
MISP's `timestamp` filter is inclusive, so that event comes again next time and is updated in place."""

from __future__ import annotations

import asyncio
from typing import Any

import requests
from pymisp import PyMISP, PyMISPError

from warroom.intel import feeds as read
from warroom.intel.models import Feed

PAGE = 200
TIMEOUT_SECONDS = 60.0
MAX_PAGES = 500


def _client(feed: Feed) -> PyMISP:
    options = feed.options or {}
    key = options.get("key")
    if not isinstance(key, str) or not key:
        raise read.FeedUnreadable('a MISP instance needs its API key in options ("key")')
    return PyMISP(
        feed.url.rstrip("/"),
        key,
        ssl=bool(options.get("verify_tls", True)),
        timeout=TIMEOUT_SECONDS,
        tool="warroom",
    )


def _events(feed: Feed) -> list[dict[str, Any]]:
    """The events changed since the feed's cursor (synchronous: pymisp uses requests; run in a thread)."""
    options = feed.options or {}
    client, events = _client(feed), []
    for page in range(1, MAX_PAGES + 1):
        found = client.search(
            controller="events",
            timestamp=int(feed.cursor) if feed.cursor and feed.cursor.isdigit() else None,
            published=options.get("published", True),
            tags=options.get("tags") or None,
            to_ids=1,
            limit=PAGE,
            page=page,
            pythonify=False,
        )
        if isinstance(found, dict):
            raise read.FeedUnreadable(f"MISP answered: {str(found.get('errors', found))[:300]}")
        events += [
            item["Event"] for item in found if isinstance(item, dict) and isinstance(item.get("Event"), dict)
        ]
        if len(found) < PAGE:
            break
    return events


async def read_misp_instance(feed: Feed, defaults: read.Defaults) -> tuple[read.Parsed, str | None]:
    try:
        events = await asyncio.to_thread(_events, feed)
    except (PyMISPError, requests.RequestException, ValueError, KeyError) as error:
        if isinstance(error, read.FeedUnreadable):
            raise
        raise read.FeedUnreadable(f"MISP: {' '.join(str(error).split())[:300]}") from None
    parsed = read.Parsed()
    for event in events:
        read.misp_event_indicators(event, defaults, parsed)
    stamps = [int(e["timestamp"]) for e in events if str(e.get("timestamp", "")).isdigit()]
    return parsed, str(max(stamps)) if stamps else feed.cursor
