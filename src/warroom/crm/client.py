"""The calls warroom makes to HubSpot, through hubspot-api-client (synchronous: jobs run them in a thread),
its own retrying off. A 429 becomes RetryLater(Retry-After); anything else CrmCallFailed, retried by the
job system with backoff and shown as the job's error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import urllib3
from hubspot import HubSpot
from hubspot.crm.companies.exceptions import ApiException as CompaniesError
from hubspot.crm.contacts.exceptions import ApiException as ContactsError
from hubspot.crm.objects.notes import AssociationSpec, PublicAssociationsForObject, PublicObjectId
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteIn
from hubspot.crm.objects.notes.exceptions import ApiException as NotesError
from hubspot.crm.tickets import SimplePublicObjectInput as TicketPatch
from hubspot.crm.tickets.exceptions import ApiException as TicketsError
from urllib3.util.retry import Retry

from warroom.config import Settings
from warroom.jobs.domain import RetryLater

T = TypeVar("T")
API_ERRORS = (TicketsError, CompaniesError, ContactsError, NotesError)
NOTE_TO_TICKET = 228  # HubSpot's association type id: note -> ticket
TICKET_PROPERTIES = ["subject", "hs_pipeline", "hs_ticket_category", "warroom_incident"]


class CrmCallFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    properties: dict[str, str | None]
    companies: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)


def connect(settings: Settings) -> HubSpot:
    if settings.hubspot_token is None:
        raise CrmCallFailed("HubSpot is not configured (WARROOM_HUBSPOT_TOKEN)")
    return HubSpot(
        access_token=settings.hubspot_token.get_secret_value(),
        host=settings.hubspot_api_url.rstrip("/"),
        retry=Retry(total=0, raise_on_status=False),
    )


def call(action: Callable[[], T]) -> T:
    try:
        return action()
    except API_ERRORS as error:
        headers = dict(error.headers or {})
        if error.status == 429:
            wait = headers.get("Retry-After") or headers.get("retry-after") or "10"
            raise RetryLater(
                float(wait) if str(wait).replace(".", "", 1).isdigit() else 10.0, "HubSpot 429"
            ) from None
        raise CrmCallFailed(
            f"HubSpot answered {error.status}: {str(error.body or error.reason)[:300]}"
        ) from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise CrmCallFailed(f"HubSpot unreachable: {type(error).__name__}") from None


def _ids(found: Any, kind: str) -> list[str]:
    association = (found.associations or {}).get(kind)
    return [str(item.id) for item in (association.results if association else [])][:50]


def fetch_ticket(client: HubSpot, ticket_id: str, company_properties: list[str], timeout: float) -> Ticket:
    """The ticket, its companies (with the picked properties) and its contacts."""
    tickets, companies_api = client.crm.tickets.basic_api, client.crm.companies.basic_api
    wanted = {"associations": ["companies", "contacts"], "_request_timeout": timeout}
    found = call(partial(tickets.get_by_id, ticket_id, properties=TICKET_PROPERTIES, **wanted))
    companies = []
    for company_id in _ids(found, "companies"):
        fields = ["name", *company_properties]
        company = call(
            partial(companies_api.get_by_id, company_id, properties=fields, _request_timeout=timeout)
        )
        props = company.properties or {}
        picked = {name: props.get(name) for name in company_properties}
        companies.append({"id": company_id, "name": props.get("name") or company_id, "properties": picked})
    contacts = []
    for contact_id in _ids(found, "contacts"):
        fields = ["email", "firstname", "lastname"]
        person = call(
            partial(
                client.crm.contacts.basic_api.get_by_id,
                contact_id,
                properties=fields,
                _request_timeout=timeout,
            )
        )
        props = person.properties or {}
        name = " ".join(p for p in (props.get("firstname"), props.get("lastname")) if p)
        contacts.append({"id": contact_id, "email": props.get("email"), "name": name})
    return Ticket(ticket_id, dict(found.properties or {}), companies, contacts)


def write_back(
    client: HubSpot, ticket_id: str, note: str, status: tuple[str, str] | None, at: datetime, timeout: float
) -> None:
    """A note on the ticket, and the status property set when one is configured."""
    association = PublicAssociationsForObject(
        to=PublicObjectId(id=ticket_id),
        types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=NOTE_TO_TICKET)],
    )
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    body = NoteIn(
        properties={"hs_note_body": note[:60_000], "hs_timestamp": stamp}, associations=[association]
    )
    call(lambda: client.crm.objects.notes.basic_api.create(body, _request_timeout=timeout))
    if status is not None:
        patch = TicketPatch(properties={status[0]: status[1]})
        call(lambda: client.crm.tickets.basic_api.update(ticket_id, patch, _request_timeout=timeout))


def can_read_tickets(client: HubSpot, timeout: float) -> int:
    """For the doctor: one page of one ticket (needs the `tickets` scope); nothing is written."""
    page = call(lambda: client.crm.tickets.basic_api.get_page(limit=1, _request_timeout=timeout))
    return len(page.results or [])
