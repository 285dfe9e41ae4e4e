"""The page's history as an Atom feed (feedgen): one entry per published incident or maintenance, its
updates as the entry's content."""

from __future__ import annotations

from datetime import datetime

from feedgen.feed import FeedGenerator
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.statuspage import domain, views
from warroom.statuspage.models import StatusIncident, StatusIncidentUpdate
from warroom.statuspage.views import PageInfo

ENTRIES = 50


def _content(updates: list[StatusIncidentUpdate]) -> str:
    return "".join(
        f"<p><small>{u.display_at:%d %b %Y, %H:%M} UTC</small><br>"
        f"<strong>{escape(domain.LABELS.get(u.status, u.status))}</strong> - {escape(u.body)}</p>"
        for u in updates
    )


async def atom(session: AsyncSession, page: PageInfo, now: datetime) -> bytes:
    query = select(StatusIncident).where(StatusIncident.published_at.is_not(None))
    data = await views.load(session, query.order_by(StatusIncident.updated_at.desc()).limit(ENTRIES))
    generator = FeedGenerator()
    generator.id(f"tag:{page.base_url.split('://')[-1]},2026:status-page:{page.id}")
    generator.title(f"{page.name} status history")
    generator.link(href=page.url, rel="alternate")
    generator.link(href=f"{page.url}/history.atom", rel="self")
    generator.updated(max((i.updated_at for i in data.items), default=now))
    for item in reversed(data.items):  # feedgen puts the last added first
        entry = generator.add_entry()
        entry.id(page.incident_url(item.id))
        entry.title(item.name)
        entry.link(href=page.incident_url(item.id))
        entry.published(item.published_at)
        entry.updated(item.updated_at)
        entry.content(_content(data.updates.get(item.id, [])), type="html")
    body: bytes = generator.atom_str(pretty=True)
    return body
