"""/preparedness: how ready each service and each responder is, what to fix first (lowest score first)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from warroom.deps import ContextDep
from warroom.preparedness import service
from warroom.web.deps import PageInternal
from warroom.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/preparedness")
async def preparedness_page(request: Request, user: PageInternal, context: ContextDep) -> Response:
    now = context.clock.now()
    async with context.db.read() as session:
        services = await service.services_readiness(
            session=session, procedure=context.procedure.procedure, now=now
        )
        people = await service.people_readiness(session=session, now=now)
    return render(
        request,
        "preparedness.html",
        user=user,
        services=sorted(services, key=lambda r: (r.score, r.ref)),
        people=sorted(people, key=lambda r: (r.score, r.ref)),
        title="Preparedness",
    )
