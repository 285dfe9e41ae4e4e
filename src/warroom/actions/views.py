"""Action runs as the API and the incident page show them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.actions.models import ActionRun
from warroom.actions.schemas import ActionRunOut
from warroom.incidents import views
from warroom.procedure.schemas import Procedure


async def runs_out(
    session: AsyncSession, procedure: Procedure, runs: Sequence[ActionRun]
) -> list[ActionRunOut]:
    users = await views.users_by_id(session, [i for r in runs for i in (r.requested_by_id, r.approved_by_id)])
    names = {a.id: a.name for a in procedure.actions}
    return [
        ActionRunOut(
            id=r.id,
            task_id=r.task_id,
            action=r.action,
            name=names.get(r.action, r.action),
            state=r.state,
            target=r.target,
            requested_by=views.user_ref(users.get(r.requested_by_id or 0)),
            requested_at=r.requested_at,
            approved_by=views.user_ref(users.get(r.approved_by_id or 0)),
            approved_at=r.approved_at,
            request=r.request or {},
            response_status=r.response_status,
            response_body=r.response_body,
            error=r.error,
            finished_at=r.finished_at,
        )
        for r in runs
    ]
