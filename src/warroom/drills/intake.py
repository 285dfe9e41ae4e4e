"""Sending a scenario's synthetic alert through the same intake code the HTTP routes use."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.dispatch import decode
from warroom.alerts.intake.flow import store
from warroom.alerts.integrations import IntegrationInfo
from warroom.alerts.models import Integration
from warroom.context import AppContext
from warroom.drills.schemas import SyntheticAlert

# Scenario format -> (integration kind, the route the HTTP intake would record)
ROUTES: dict[str, tuple[str, dict[str, Any]]] = {
    "pagerduty_v2": ("pagerduty", {"kind": "pagerduty", "op": "enqueue"}),
    "alertmanager": ("alertmanager", {"kind": "alertmanager", "op": "webhook"}),
    "generic": ("webhook", {"kind": "webhook", "op": "webhook"}),
}


class NoIntegration(LookupError):
    """The scenario names an integration that does not exist (or is of another kind)."""


async def find_integration(session: AsyncSession, name: str, fmt: str) -> tuple[IntegrationInfo, str]:
    """The integration and its key (PagerDuty payloads carry the key as routing_key)."""
    kind = ROUTES[fmt][0]
    row = await session.scalar(select(Integration).where(Integration.name == name, Integration.kind == kind))
    if row is None:
        raise NoIntegration(f"no {kind} integration named {name!r}")
    info = IntegrationInfo(
        id=row.id,
        kind=row.kind,
        service_id=row.service_id,
        signing_secret=row.signing_secret,
        config=dict(row.config or {}),
        rate_limit_per_minute=row.rate_limit_per_minute,
    )
    return info, row.key


async def send_alert(
    context: AppContext, door: tuple[IntegrationInfo, str], alert: SyntheticAlert
) -> list[str]:
    """Decode and store the payload exactly as an HTTP intake request; returns the alerts' dedup keys."""
    integration, key = door
    route = ROUTES[alert.format][1]
    payload = dict(alert.payload)
    if alert.format == "pagerduty_v2":
        payload["routing_key"] = key  # the scenario cannot know the key; the real sender puts it here
    raw = IntakeRequest(
        body=json.dumps(payload).encode(),
        content_type="application/json",
        now=context.clock.now(),
        headers={"user-agent": "warroom-drill"},
        integration_config=integration.config,
    )
    decoded = decode(route, raw)
    _, outcomes = await store(context, integration, raw, route, decoded.events)
    return [o.dedup_key for o in outcomes if o.dedup_key]
