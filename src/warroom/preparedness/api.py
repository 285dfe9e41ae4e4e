"""/api/v1/preparedness: how ready each service and each person is, and what to fix."""

from __future__ import annotations

from fastapi import APIRouter

from warroom.deps import ContextDep, InternalReader, ReadSession
from warroom.preparedness import service
from warroom.preparedness.schemas import PreparednessOut, ReadinessOut

router = APIRouter(prefix="/api/v1", tags=["preparedness"])


@router.get("/preparedness", response_model=PreparednessOut)
async def preparedness(_user: InternalReader, session: ReadSession, context: ContextDep) -> PreparednessOut:
    """Per service: alerts arriving, someone on call for 14 days, a playbook for its likely incidents, a
    drill in 90 days, stakeholder lists; per responder: on a rotation, a contact method a test reached, a
    drill in the last quarter. Each with a score and what to fix."""
    now = context.clock.now()
    procedure = context.procedure.procedure
    services = await service.services_readiness(session=session, procedure=procedure, now=now)
    people = await service.people_readiness(session=session, now=now)
    return PreparednessOut(
        services=[ReadinessOut.of(s) for s in services], people=[ReadinessOut.of(p) for p in people]
    )
