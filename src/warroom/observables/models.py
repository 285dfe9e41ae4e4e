from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class Asset(Base):
    """Something an attack can touch: a host, an account, a cloud resource, a service; and its surface."""

    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(300))
    surface: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentAsset(Base):
    __tablename__ = "incident_assets"
    __table_args__ = (UniqueConstraint("incident_id", "asset_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)


class TaskAsset(Base):
    __tablename__ = "task_assets"
    __table_args__ = (UniqueConstraint("task_id", "asset_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("incident_tasks.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)


class Observable(Base):
    """An indicator on an incident, in its normal form: one row per (incident, type, value)."""

    __tablename__ = "observables"
    __table_args__ = (
        UniqueConstraint("incident_id", "type", "value"),
        Index("ix_observables_type_value", "type", "value"),  # IOC matching looks values up by type
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(2000))
    tlp: Mapped[str] = mapped_column(String(16))
    pap: Mapped[str] = mapped_column(String(8))
    ioc: Mapped[bool] = mapped_column(default=False, server_default=false())
    sighted: Mapped[bool] = mapped_column(default=False, server_default=false())
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(100))  # "added by hand", "alert #12 (labels.src_ip)"
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
