"""Drill cadence (issue #17): a team whose services have had no drill within the procedure's
`drill_every_days` (90) is reminded through its members' contact methods, once a week; a drill on one of its
services stops the reminders. Both databases, with the injected clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.integration.conftest import Api
from warroom.notify.models import OutgoingMessage
from warroom.preparedness.reminders import DrillReminders


async def _reminders(api: Api) -> list[tuple[str, str]]:
    async with api.context.db.read() as session:
        rows = await session.scalars(
            select(OutgoingMessage)
            .where(OutgoingMessage.idempotency_key.like("drill-due:%"))
            .order_by(OutgoingMessage.id)
        )
        return [(m.address, m.subject) for m in rows.all()]


async def test_an_undrilled_team_is_reminded_weekly_until_it_drills(api: Api) -> None:
    team = {"slug": "payments", "name": "Payments", "members": [api.emails["responder"]]}
    made = await api.admin.post("/api/v1/teams", json=team)
    assert made.status_code == 201, made.text
    service = {"slug": "checkout", "name": "Checkout", "team": "payments"}
    assert (await api.admin.post("/api/v1/services", json=service)).status_code == 201
    method = {"kind": "log", "address": "pager@example.org"}
    assert (await api.responder.post("/api/v1/me/contact-methods", json=method)).status_code == 201
    check = DrillReminders()
    await check(api.context)
    assert await _reminders(api) == [("pager@example.org", "Drill overdue for Payments")]
    api.clock.advance(timedelta(hours=2))
    await check(api.context)  # the same week: once
    assert len(await _reminders(api)) == 1
    api.clock.advance(timedelta(days=7))
    await check(api.context)
    assert len(await _reminders(api)) == 2
    drill = {"title": "Game day", "severity": "P3", "services": ["checkout"], "drill": True}
    assert (await api.responder.post("/api/v1/incidents", json=drill)).status_code == 201
    api.clock.advance(timedelta(days=7))
    await check(api.context)
    assert len(await _reminders(api)) == 2  # drilled: nothing more for 90 days
    api.clock.advance(timedelta(days=91))
    await check(api.context)
    assert len(await _reminders(api)) == 3
