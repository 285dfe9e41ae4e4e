"""Open a triage incident for a reported problem and page the affected service's on-call.

Triage severity: the procedure's lowest severity (services carry no severity of their own); the responder
raises it once they know more. The service's escalation policy is paged whatever that severity's `page:`
list says, since nobody else would look at a stakeholder's report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.errors import invalid
from warroom.inbound import clean_text, fit_text
from warroom.incidents.models import Incident
from warroom.incidents.schemas import IncidentCreate
from warroom.incidents.service import declare_incident
from warroom.paging.requested import page_into
from warroom.procedure.loader import LoadedProcedure


@dataclass(frozen=True)
class Reported:
    incident: Incident
    paged: str
    response_target: str


async def report_problem(
    *, session: AsyncSession, loaded: LoadedProcedure, actor: User, what: str, service: str,
    seeing: str, now: datetime,
) -> Reported:  # fmt: skip
    title = fit_text(" ".join(clean_text(what).split()), 200)
    if not title:
        raise invalid("what", "say what is wrong, e.g. 'the site is down'")
    severity = loaded.procedure.severities[-1]
    data = IncidentCreate(title=f"Reported: {title}", severity=severity.id, services=[service.strip()],
                          summary=fit_text(clean_text(seeing), 5000))  # fmt: skip
    incident = await declare_incident(session=session, loaded=loaded, actor=actor, data=data, now=now)
    paged = await page_into(session=session, incident=incident, actor=actor, kind="service",
                            ref=service.strip(), reason=f"reported problem: {title}", key="report",
                            now=now)  # fmt: skip
    return Reported(incident, paged, _target(severity))


def _target(severity: object) -> str:
    for name in ("response_target", "ack_within", "update_every"):
        value = getattr(severity, name, None)
        if value:
            return f"{name.replace('_', ' ')}: {value}"
    return "a responder will look at it"
