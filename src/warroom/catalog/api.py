from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from warroom.catalog import dependencies, service
from warroom.catalog.models import Service
from warroom.catalog.schemas import ServiceCreate, ServiceOut
from warroom.deps import CatalogReader, CatalogWriter, ContextDep, ReadSession, WriteSession

router = APIRouter(prefix="/api/v1/services", tags=["services"])


def service_out(row: Service) -> ServiceOut:
    return ServiceOut(
        id=row.id, slug=row.slug, name=row.name, description=row.description,
        cost_per_minute=row.cost_per_minute, created_at=row.created_at,
    )  # fmt: skip


@router.get("", response_model=list[ServiceOut])
async def list_services(_user: CatalogReader, session: ReadSession) -> list[ServiceOut]:
    return [service_out(s) for s in await service.list_services(session=session)]


@router.post("", status_code=201, response_model=ServiceOut)
async def create_service(
    body: ServiceCreate, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> ServiceOut:
    row = await service.create_service(
        session=session,
        slug=body.slug,
        name=body.name,
        description=body.description,
        team_slug=body.team,
        now=context.clock.now(),
        cost_per_minute=body.cost_per_minute,
    )
    return service_out(row)


@router.get("/{slug}", response_model=ServiceOut)
async def read_service(slug: str, _user: CatalogReader, session: ReadSession) -> ServiceOut:
    return service_out(await service.get_service(session=session, slug=slug))


class Dependencies(BaseModel):
    model_config = ConfigDict(extra="forbid")
    depends_on: list[str] = Field(max_length=50, description="Slugs of the services this one needs.")


@router.get("/{slug}/dependencies", response_model=Dependencies)
async def read_dependencies(slug: str, _user: CatalogReader, session: ReadSession) -> Dependencies:
    found = await dependencies.depends_on(
        session=session, service=await service.get_service(session=session, slug=slug)
    )
    return Dependencies(depends_on=[s.slug for s in found])


@router.put("/{slug}/dependencies", response_model=Dependencies)
async def set_dependencies(
    slug: str, body: Dependencies, _admin: CatalogWriter, session: WriteSession
) -> Dependencies:
    """Replace what the service depends on (for blast radius); refuses itself, unknowns and cycles."""
    row = await service.get_service(session=session, slug=slug)
    done = await dependencies.set_dependencies(session=session, service=row, slugs=body.depends_on)
    return Dependencies(depends_on=[s.slug for s in done])
