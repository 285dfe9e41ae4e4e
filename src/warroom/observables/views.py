"""Observables, assets and surfaces as the API and the incident page show them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.incidents import views
from warroom.observables import assets
from warroom.observables.models import Asset, Observable
from warroom.observables.schemas import AssetOut, ObservableOut, SurfacesOut


async def observables_out(session: AsyncSession, rows: Sequence[Observable]) -> list[ObservableOut]:
    users = await views.users_by_id(session, [r.added_by_id for r in rows])
    return [
        ObservableOut(
            id=r.id,
            type=r.type,
            value=r.value,
            tlp=r.tlp,
            pap=r.pap,
            ioc=r.ioc,
            sighted=r.sighted,
            tags=list(r.tags or []),
            note=r.note,
            source=r.source,
            alert_id=r.alert_id,
            asset_id=r.asset_id,
            first_seen=r.first_seen,
            last_seen=r.last_seen,
            added_by=views.user_ref(users.get(r.added_by_id or 0)),
        )
        for r in rows
    ]


def asset_out(asset: Asset) -> AssetOut:
    return AssetOut(id=asset.id, kind=asset.kind, name=asset.name, surface=asset.surface,
                    description=asset.description)  # fmt: skip


async def surfaces_out(session: AsyncSession, incident_id: int) -> SurfacesOut:
    linked, involved = await assets.surfaces(session, incident_id)
    return SurfacesOut(assets=[asset_out(a) for a in linked], surfaces=involved,
                       multi_vector=len(involved) >= assets.MULTI_VECTOR)  # fmt: skip
