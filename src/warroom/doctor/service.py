"""Running every check, and remembering the outcome: a check that starts failing is told to every admin
once (not on every run); when it passes again it is forgotten, so a later failure is told again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.comms.reminders import tell
from warroom.config import Settings
from warroom.doctor import checks
from warroom.doctor.checks import Finding
from warroom.doctor.models import DoctorFinding


async def examine(session: AsyncSession, settings: Settings) -> list[Finding]:
    """Every configured integration's findings, in a fixed order; nothing is sent or changed."""
    found: list[Finding] = []
    found += await checks.check_slack(settings)
    found += await checks.check_chat_webhooks(settings)
    found += await checks.check_smtp(session, settings)
    found += await checks.check_contact_methods(session)
    found += await checks.check_jira(session, settings)
    found += await checks.check_hubspot(settings)
    found += await checks.check_feeds(session)
    return found


async def _tell_admins(session: AsyncSession, finding: Finding, since: datetime, now: datetime) -> None:
    admins = await session.scalars(select(User).where(User.role == "admin", User.is_active.is_(True)))
    body = f"{finding.detail}\nHow to fix it: {finding.fix or 'see warroom doctor'}"
    for admin in admins:
        key = f"doctor:{finding.check}:{since.isoformat()}"
        await tell(
            session, admin, key=key, subject=f"Integration failing: {finding.check}", body=body, now=now
        )


async def remember(session: AsyncSession, findings: list[Finding], now: datetime) -> list[Finding]:
    """Store the outcome of a run; answers the checks that started failing with it (told to admins)."""
    stored = {row.check: row for row in await session.scalars(select(DoctorFinding))}
    started = []
    for finding in findings:
        row = stored.get(finding.check)
        if row is None:
            row = DoctorFinding(check=finding.check, status="ok", detail="", checked_at=now)
            session.add(row)
        failing_before = row.status == "fail"
        row.status, row.detail, row.fix, row.checked_at = finding.status, finding.detail, finding.fix, now
        if finding.status == "fail" and not failing_before:
            row.failing_since = now
            started.append(finding)
            await _tell_admins(session, finding, now, now)
        elif finding.status != "fail":
            row.failing_since = None
    seen = {finding.check for finding in findings}
    for check, row in stored.items():
        if check not in seen:  # no longer configured: nothing to remember
            await session.delete(row)
    await session.flush()
    return started


async def last_findings(session: AsyncSession) -> list[DoctorFinding]:
    return list(await session.scalars(select(DoctorFinding).order_by(DoctorFinding.id)))
