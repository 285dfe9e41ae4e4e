"""Stakeholder-update rules: the template context, rendering, recipient addresses, reminder timing. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from jinja2 import TemplateError

from warroom.errors import invalid
from warroom.procedure.comms_schema import TEMPLATES, UpdateTemplate

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RECIPIENT_CHANNELS = ("email", "webhook", "apprise", "log")  # log: the server log, for demos and dry runs


@dataclass(frozen=True)
class IncidentFacts:
    """What an update template may say about the incident (names, never emails: templates go outside)."""

    ref: str
    title: str
    severity: str
    severity_name: str
    phase: str
    phase_name: str
    status: str
    customer_impact: str
    services: list[str]
    commander: str | None
    communications_lead: str | None
    declared_at: datetime
    url: str


@dataclass(frozen=True)
class Rendered:
    audience: str
    subject: str
    body: str


def when(at: datetime | None) -> str | None:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at is not None else None


def context(
    facts: IncidentFacts,
    *,
    number: int,
    body: str,
    author: str,
    posted_at: datetime,
    next_update_at: datetime | None,
    status_page_url: str,
    internal: bool,
) -> dict[str, Any]:
    """The names every template sees (comms_schema.SAMPLE_CONTEXT lists them); an external audience gets
    no link into warroom and no responder names."""
    incident = {
        "ref": facts.ref, "title": facts.title, "severity": facts.severity,
        "severity_name": facts.severity_name, "phase": facts.phase, "phase_name": facts.phase_name,
        "status": facts.status, "customer_impact": facts.customer_impact, "services": facts.services,
        "commander": facts.commander if internal else None,
        "communications_lead": facts.communications_lead if internal else None,
        "declared_at": when(facts.declared_at), "url": facts.url if internal else status_page_url,
    }  # fmt: skip
    return {
        "incident": incident,
        "update": {"number": number, "body": body, "posted_at": when(posted_at)},
        "author": author if internal else "",
        "next_update_at": when(next_update_at),
        "status_page_url": status_page_url,
    }


def render(audience: str, template: UpdateTemplate, values: dict[str, Any]) -> Rendered:
    try:
        subject = TEMPLATES.from_string(template.subject).render(values)
        body = TEMPLATES.from_string(template.body).render(values)
    except TemplateError as error:  # the procedure check renders every template, so this is rare
        raise invalid("body", f"the {audience} template does not render: {error}") from None
    # A subject is one line; a template's line breaks or a long title must not break the mail header.
    return Rendered(audience=audience, subject=" ".join(subject.split())[:300], body=body.strip() + "\n")


def check_address(channel: str, address: str) -> str:
    address = address.strip()
    if channel not in RECIPIENT_CHANNELS:
        raise invalid("channel", f"use one of: {', '.join(RECIPIENT_CHANNELS)}")
    if channel == "email" and not EMAIL.match(address):
        raise invalid("address", "an email address, such as support-leads@example.com")
    if channel == "webhook":
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise invalid("address", "an http:// or https:// URL")
    if channel == "apprise" and "://" not in address:
        raise invalid("address", "an Apprise URL, such as slack://TokenA/TokenB/TokenC/#channel")
    if not address or len(address) > 1000:
        raise invalid("address", "1 to 1000 characters")
    return address


def reminder_due(
    *, due: datetime | None, reminded: datetime | None, now: datetime, cadence: timedelta | None
) -> bool:
    """Remind once the update is due, then again every cadence while it stays overdue."""
    if due is None or now < due:
        return False
    if reminded is None or reminded < due:
        return True
    return cadence is not None and now >= reminded + cadence


DRILL_MARK = "[DRILL] "


def as_drill(message: Rendered) -> Rendered:
    """A drill's message says so first, in its subject and its body, wherever it is read."""
    return replace(
        message, subject=DRILL_MARK + message.subject, body=f"{DRILL_MARK}This is a drill.\n\n{message.body}"
    )


def check_audiences(wanted: list[str] | None, heard: list[str]) -> list[str]:
    """The audiences an update goes to: all that hear about this severity, or the chosen ones among them."""
    if wanted is None:
        return heard
    unknown = [a for a in wanted if a not in heard]
    if unknown:
        choose = ", ".join(heard) or "none hear about it"
        raise invalid("audiences", f"{unknown[0]!r} does not hear about this severity; choose from: {choose}")
    return list(dict.fromkeys(wanted))
