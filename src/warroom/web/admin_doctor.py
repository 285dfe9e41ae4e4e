"""The integration doctor's page (admins): what the last run found for each integration, and a run now."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warroom.deps import ContextDep
from warroom.doctor.service import examine, last_findings, remember
from warroom.web.deps import PageAdmin, csrf_checked, writing
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)


@router.get("/admin/doctor")
async def doctor_page(request: Request, user: PageAdmin, context: ContextDep) -> Response:
    async with context.db.read() as session:
        findings = await last_findings(session)
    return render(request, "admin_doctor.html", user=user, findings=findings, title="Integration doctor")


@router.post("/admin/doctor/run")
async def run_doctor(request: Request, user: PageAdmin, context: ContextDep) -> Response:
    async with writing(context) as session:
        found = await examine(session, context.settings)
        await remember(session, found, context.clock.now())
    failing = sum(1 for f in found if f.status == "fail")
    said = f"{len(found)} checks run: {failing} failing" if found else "Nothing is configured to check"
    return redirect(request, "/admin/doctor", flash=said, tone="error" if failing else "ok")
