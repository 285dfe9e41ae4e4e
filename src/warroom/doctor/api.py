"""The integration doctor over HTTP (admins): the last findings, and a run now."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from warroom.deps import CatalogWriter, ContextDep, ReadSession, WriteSession
from warroom.doctor.service import examine, last_findings, remember

router = APIRouter(prefix="/api/v1/doctor", tags=["doctor"])


class FindingOut(BaseModel):
    check: str
    status: str
    detail: str
    fix: str
    failing_since: datetime | None = None
    checked_at: datetime | None = None


@router.get("", response_model=list[FindingOut])
async def findings(_admin: CatalogWriter, session: ReadSession) -> list[FindingOut]:
    """What the last run found (the worker runs the doctor every 15 minutes)."""
    return [FindingOut.model_validate(row, from_attributes=True) for row in await last_findings(session)]


@router.post("/run", response_model=list[FindingOut])
async def run(_admin: CatalogWriter, session: WriteSession, context: ContextDep) -> list[FindingOut]:
    """Check every configured integration now, without side effects; a check that starts failing is told to
    the admins once."""
    found = await examine(session, context.settings)
    await remember(session, found, context.clock.now())
    return [FindingOut(**finding.as_dict()) for finding in found]
