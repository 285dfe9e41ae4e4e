"""Record each procedure version the server runs under (incidents point at it by hash)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.models import ProcedureVersion


async def register_version(
    *, session: AsyncSession, loaded: LoadedProcedure, now: datetime
) -> ProcedureVersion:
    """Insert-if-absent in one statement: several server processes may start at the same moment."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(ProcedureVersion)
        .values(
            hash=loaded.version_hash,
            label=loaded.procedure.version[:64],
            source=loaded.source[:500],
            content=loaded.text,
            first_loaded_at=now,
        )
        .on_conflict_do_nothing(index_elements=[ProcedureVersion.hash])
    )
    version = await session.scalar(
        select(ProcedureVersion).where(ProcedureVersion.hash == loaded.version_hash)
    )
    if version is None:
        raise RuntimeError("the procedure version vanished right after it was stored")
    return version


async def list_versions(*, session: AsyncSession) -> list[ProcedureVersion]:
    query = select(ProcedureVersion).order_by(ProcedureVersion.first_loaded_at, ProcedureVersion.id)
    return list((await session.scalars(query)).all())
