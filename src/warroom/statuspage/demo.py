"""The demo's public status page: two groups of components standing for the demo's services, 90 days of
history with a few bad days, a resolved incident with its updates, a completed and an upcoming maintenance.
Everything goes through the real services at past times, so the history is what they would have written."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.statuspage import components, service
from warroom.statuspage.schemas import (
    ComponentChange,
    ComponentCreate,
    GroupCreate,
    IncidentCreate,
    MaintenanceCreate,
    UpdateCreate,
)
from warroom.statuspage.views import PageInfo

ACTOR = "demo: communications lead"
GROUPS = {
    "Shop": [
        ("Checkout", "Cart and checkout", ["checkout"]),
        ("Payments", "Card payments", ["payments-api"]),
    ],
    "Platform": [("Web site", "The public web site", ["web"]), ("Search", "Product search", ["search"])],
}
# The demo has no subscribers, so the page's links are never sent anywhere.
PAGE = PageInfo("demo", "Service status", "/status", "Etc/UTC", "")


async def load_status_page_demo(*, session: AsyncSession, now: datetime) -> None:
    created = now - timedelta(days=120)
    ids: dict[str, int] = {}
    for group_name, members in GROUPS.items():
        group = await components.create_group(session=session, data=GroupCreate(name=group_name), now=created)
        for name, description, services in members:
            data = ComponentCreate(name=name, description=description, group_id=group.id, services=services)
            ids[name] = (await components.create_component(session=session, data=data, now=created)).id
    await _incident(
        session,
        ids,
        now - timedelta(days=58, hours=3),
        "Slow searches",
        "Search",
        "partial_outage",
        timedelta(hours=3),
    )
    await _checkout_outage(session, ids, now - timedelta(days=6, hours=2))
    await _incident(
        session,
        ids,
        now - timedelta(days=33),
        "Some pages load slowly",
        "Web site",
        "degraded_performance",
        timedelta(hours=2),
    )
    await _maintenance(session, ids, now, now - timedelta(days=20), "Payments database upgrade", "Payments")
    await _maintenance(session, ids, now, now + timedelta(days=3), "Search index rebuild", "Search")


async def _incident(
    session: AsyncSession,
    ids: dict[str, int],
    at: datetime,
    name: str,
    component: str,
    status: str,
    lasted: timedelta,
) -> None:
    change = [ComponentChange(id=ids[component], status=status)]
    data = IncidentCreate(
        name=name, impact="minor", body=f"We are investigating: {name.lower()}.", components=change
    )
    item = await service.create_incident(session=session, data=data, ctx=service.Ctx(ACTOR, at, PAGE))
    done = UpdateCreate(status="resolved", body="This incident has been resolved.")
    await service.post_update(
        session=session, item=item, data=done, ctx=service.Ctx(ACTOR, at + lasted, PAGE)
    )


async def _checkout_outage(session: AsyncSession, ids: dict[str, int], at: datetime) -> None:
    """The public side of the demo's closed incident: customers could not check out for about an hour."""
    data = IncidentCreate(
        name="Checkout errors",
        impact="major",
        body="Some customers cannot complete checkout. We are investigating.",
        components=[ComponentChange(id=ids["Checkout"], status="major_outage")],
    )
    item = await service.create_incident(session=session, data=data, ctx=service.Ctx(ACTOR, at, PAGE))
    steps = [
        (
            25,
            "identified",
            "We found the cause: a configuration change. We are rolling it back.",
            "partial_outage",
        ),
        (
            50,
            "monitoring",
            "The change is rolled back and checkout works again. We are watching it.",
            "operational",
        ),
        (80, "resolved", "Checkout has worked normally for half an hour. This incident is resolved.", None),
    ]
    for minutes, status, body, component in steps:
        changes = [ComponentChange(id=ids["Checkout"], status=component)] if component else []
        update = UpdateCreate(status=status, body=body, components=changes)
        ctx = service.Ctx(ACTOR, at + timedelta(minutes=minutes), PAGE)
        await service.post_update(session=session, item=item, data=update, ctx=ctx)


async def _maintenance(
    session: AsyncSession, ids: dict[str, int], now: datetime, start: datetime, name: str, component: str
) -> None:
    data = MaintenanceCreate(
        name=name,
        body=f"{component} will be unavailable for up to an hour.",
        components=[ids[component]],
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
    )
    announced = min(now, start - timedelta(days=2))
    item = await service.create_maintenance(
        session=session, data=data, ctx=service.Ctx(ACTOR, announced, PAGE)
    )
    if start < now:  # already past: run its window as the worker would have
        for target, at in (("in_progress", start), ("completed", start + timedelta(hours=1))):
            ctx = service.Ctx(ACTOR, at, PAGE)
            await service.advance_maintenance(session=session, item=item, target=target, body=None, ctx=ctx)
