from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class Integration(Base):
    """A sender's door into warroom: a kind (wire format), a default service and a secret key."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    signing_secret: Mapped[str | None] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rate_limit_per_minute: Mapped[int] = mapped_column(default=6000)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RawEvent(Base):
    """The request exactly as it came (bytes, sanitised headers), so alerts can be re-derived from it."""

    __tablename__ = "raw_events"
    # On PostgreSQL the table is partitioned by month of arrival (migration 0034, alerts.partitions): its
    # primary key there is (id, received_at), and request ids (server-made UUIDs) are indexed, not unique.
    __table_args__ = (
        Index("ix_raw_events_integration_received", "integration_id", "received_at"),
        Index("ix_raw_events_request_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_type: Mapped[str] = mapped_column(String(200))
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    route: Mapped[dict[str, Any]] = mapped_column(JSON)  # which adapter and operation, for replay
    result: Mapped[dict[str, Any]] = mapped_column(JSON)  # what it did: alerts touched, dropped events


class IntakeBacklog(Base):
    """A request stored but not yet derived into alerts (alerts.intake.backlog): an integration sending past
    its flood rate has its requests answered once stored and derived afterwards, in arrival order, by id."""

    __tablename__ = "intake_backlog"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Alert(Base):
    """One alert; repeated triggers of the same open (integration, dedup key) raise `count`."""

    __tablename__ = "alerts"
    __table_args__ = (
        # Deduplication is one upsert against this index: at most one open alert per key.
        Index(
            "uq_alerts_open_dedup",
            "integration_id",
            "dedup_key",
            unique=True,
            sqlite_where=text("status <> 'resolved'"),
            postgresql_where=text("status <> 'resolved'"),
        ),
        Index("ix_alerts_status_last_seen_id", "status", "last_seen_at", "id"),  # one status, newest first
        # The alerts list's first page, unfiltered: newest first without sorting the table (1M alerts:
        # 632 ms -> 0.1 ms on SQLite, 141 ms -> 0.5 ms on PostgreSQL).
        Index("ix_alerts_last_seen_id", "last_seen_at", "id"),
        Index("ix_alerts_service_status", "service_id", "status"),
        Index("ix_alerts_group", "group_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    dedup_key: Mapped[str] = mapped_column(String(255))
    group_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    raw_severity: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(1024))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(255), default="")
    labels: Mapped[dict[str, str]] = mapped_column(JSON)
    links: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    count: Mapped[int] = mapped_column(default=1)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(320))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    suppressed: Mapped[str | None] = mapped_column(String(200))  # why paging was suppressed (maintenance)
    triaged: Mapped[bool] = mapped_column(default=False)


class AlertEvent(Base):
    """An alert's own history: each trigger, acknowledge, resolve or note that reached it."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(320))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ServiceChange(Base):
    """A change event (deploy, config change) on a service's timeline, from PagerDuty's change API."""

    __tablename__ = "service_changes"
    __table_args__ = (Index("ix_service_changes_service_at", "service_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    summary: Mapped[str] = mapped_column(String(1024))
    source: Mapped[str] = mapped_column(String(255), default="")
    links: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
