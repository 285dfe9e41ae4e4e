"""Pure HubSpot logic: a webhook's v3 signature (computed by hubspot-api-client's Signature, with the
timestamp checked against warroom's clock), the events a delivery carries, and the customer impact of an
incident's tickets."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from hubspot.utils.signature import Signature

MAX_AGE_MS = 5 * 60 * 1000
TICKET_EVENTS = frozenset({"ticket.creation", "ticket.propertyChange"})


def signature_ok(
    secret: str, method: str, uri: str, body: bytes, timestamp: str, signature: str, now_ms: int
) -> bool:
    """HubSpot's X-HubSpot-Signature-v3 over method, URI, body and timestamp, within five minutes."""
    if not timestamp.isdigit() or abs(now_ms - int(timestamp)) > MAX_AGE_MS:
        return False
    expected = Signature.get_signature(
        secret, body.decode("utf-8", "replace"), "v3", http_uri=uri, http_method=method, timestamp=timestamp
    )
    return hmac.compare_digest(expected, signature)


@dataclass(frozen=True)
class TicketEvent:
    event_id: str
    ticket_id: str


def ticket_events(payload: Any) -> list[TicketEvent]:
    """The ticket creations and property changes of a delivery (a JSON array of events)."""
    if not isinstance(payload, list):
        return []
    found = []
    for event in payload[:1000]:
        if isinstance(event, dict) and event.get("subscriptionType") in TICKET_EVENTS:
            found.append(TicketEvent(str(event.get("eventId", ""))[:64], str(event.get("objectId", ""))[:64]))
    return [e for e in found if e.event_id and e.ticket_id.isdigit()]


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and abs(number) < 1e15 else 0.0  # not NaN, not absurd


@dataclass(frozen=True)
class Impact:
    tickets: int
    customers: int  # distinct companies
    contacts: int
    value: float  # the value property summed over distinct companies
    companies: list[dict[str, Any]]


def impact(tickets: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]], value_property: str) -> Impact:
    """Companies and contacts across the tickets, each counted once; their value summed once each."""
    companies = {str(c.get("id")): c for companies, _contacts in tickets for c in companies}
    contacts = {str(c.get("id")) for _companies, people in tickets for c in people}
    value = sum(_number((c.get("properties") or {}).get(value_property)) for c in companies.values())
    listed = sorted(companies.values(), key=lambda c: str(c.get("name", "")))
    return Impact(len(tickets), len(companies), len(contacts), round(value, 2), listed)
