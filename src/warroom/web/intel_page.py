"""/intel: the threat-intel feeds with their state (what the last poll did, or why it failed), the latest
sightings, and hunting a value by hand (internal readers; hunting is for those who may write)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from warroom.deps import ContextDep
from warroom.errors import InvalidInput
from warroom.intel import service
from warroom.intel.schemas import HuntIn, HuntOut
from warroom.web.deps import PageInternal, csrf_checked
from warroom.web.forms import FormState, field_messages
from warroom.web.render import render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)


@router.get("/intel")
async def intel_page(request: Request, user: PageInternal, context: ContextDep, q: str = "") -> Response:
    """The feeds, the latest sightings, and (with `q`) where that value was seen."""
    found: HuntOut | None = None
    form = FormState(values={"q": q})
    async with context.db.read() as session:
        feeds = await service.feeds_out(session=session)
        sightings = await service.sightings(session=session, limit=50)
        if q.strip():
            try:
                found = await service.hunt(
                    session=session, data=HuntIn(value=q.strip()[:2000]), now=context.clock.now()
                )
            except InvalidInput as error:
                form.errors["q"] = error.detail
            except ValidationError as error:
                form.errors["q"] = "; ".join(m for _f, m in field_messages(error))
    return render(request, "intel.html", user=user, feeds=feeds, sightings=sightings, found=found, form=form,
                  title="Threat intel")  # fmt: skip
