"""All incidents, open and resolved: filtered by status and severity, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from warroom.auth.domain import Permission, allows
from warroom.deps import ContextDep
from warroom.inbound import row_id
from warroom.incidents import service, views
from warroom.incidents.visibility import viewer_of
from warroom.web.deps import PageReader
from warroom.web.incident_data import severity_rank
from warroom.web.render import render

router = APIRouter(include_in_schema=False)
STATUSES = ("active", "resolved", "closed")
PAGE_SIZE = 50


@dataclass(frozen=True)
class IncidentQuery:
    status: tuple[str, ...]
    severity: tuple[str, ...]
    q: str
    offset: int

    @classmethod
    def of(cls, params: QueryParams, severities: tuple[str, ...]) -> IncidentQuery:
        offset = params.get("offset", "0")
        return cls(
            status=tuple(s for s in params.getlist("status") if s in STATUSES),
            severity=tuple(s for s in params.getlist("severity") if s in severities),
            q=params.get("q", "")[:200],
            offset=min(row_id(offset) or 0, 1_000_000),
        )

    def url(self, **changes: object) -> str:
        offset = changes.pop("offset", self.offset)
        fields: dict[str, object] = {"status": self.status, "severity": self.severity, "q": self.q, **changes}
        pairs = [(k, v) for k, vs in fields.items() for v in (vs if isinstance(vs, tuple) else (vs,)) if v]
        if offset:
            pairs.append(("offset", offset))
        return "/incidents" + (f"?{urlencode(pairs)}" if pairs else "")


@router.get("/incidents")
async def incident_list(request: Request, user: PageReader, context: ContextDep) -> Response:
    procedure = context.procedure.procedure
    severities = tuple(procedure.severity_ids())
    query = IncidentQuery.of(request.query_params, severities)
    now = context.clock.now()
    filters = service.IncidentFilter(status=query.status, severity=query.severity, text=query.q or None)
    async with context.db.read() as session:
        rows, total = await service.list_incidents(
            session=session,
            viewer=viewer_of(user, procedure),
            filters=filters,
            limit=PAGE_SIZE,
            offset=query.offset,
            attention=procedure.severity_ids(),
        )
        shown = await views.incidents_out(
            session=session,
            loaded=context.procedure,
            incidents=rows,
            now=now,
            show_roles=allows(user.role, Permission.incident_internal),
        )
    return render(
        request,
        "incidents.html",
        user=user,
        incidents=[(i, severity_rank(procedure, i.severity)) for i in shown],
        total=total,
        query=query,
        severities=severities,
        page_size=PAGE_SIZE,
        now=now,
        title="Incidents",
    )
