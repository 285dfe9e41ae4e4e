"""The public status page: components (and their groups), every status change, incidents and maintenances
published to the page with their public updates, and the page's subscribers.

A group is a component row with `is_group` set, as on Statuspage, so groups and components share one id
space in the public API. A scheduled maintenance is a `StatusIncident` of kind `maintenance` with a window.
Nothing here points at an internal incident's content: `incident_id` is a link only, never shown publicly.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class StatusComponent(Base):
    __tablename__ = "status_components"

    id: Mapped[int] = mapped_column(primary_key=True)
    is_group: Mapped[bool] = mapped_column(default=False)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_components.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    # A group's own status is never read: it is the worst of its components'.
    status: Mapped[str] = mapped_column(String(32), default="operational")
    showcase: Mapped[bool] = mapped_column(default=True)
    only_show_if_degraded: Mapped[bool] = mapped_column(default=False)
    start_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusComponentService(Base):
    """The internal catalog services a component stands for (optional; never shown on the page)."""

    __tablename__ = "status_component_services"
    __table_args__ = (UniqueConstraint("component_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("status_components.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)


class ComponentStatusChange(Base):
    """Every status a component entered and when: uptime is computed from this history alone."""

    __tablename__ = "status_component_changes"
    __table_args__ = (Index("ix_status_component_changes_component_at", "component_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("status_components.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_incidents.id", ondelete="SET NULL")
    )


class StatusIncident(Base):
    """An incident (investigating..resolved) or a maintenance (scheduled..completed) on the public page.

    A draft (`published_at` null) is invisible to the public and moves no component."""

    __tablename__ = "status_incidents"
    __table_args__ = (Index("ix_status_incidents_kind_status", "kind", "status", "scheduled_for"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # incident, maintenance
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    impact: Mapped[str] = mapped_column(String(16))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    monitoring_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scheduled_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StatusIncidentComponent(Base):
    """A component an incident or maintenance affects, the status it moves it to, and (maintenance) the
    status it had before the window, to return to."""

    __tablename__ = "status_incident_components"
    __table_args__ = (UniqueConstraint("status_incident_id", "component_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status_incident_id: Mapped[int] = mapped_column(ForeignKey("status_incidents.id", ondelete="CASCADE"))
    component_id: Mapped[int] = mapped_column(
        ForeignKey("status_components.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(32))
    previous_status: Mapped[str | None] = mapped_column(String(32))


class StatusIncidentUpdate(Base):
    """One public message; `affected_components` lists what it changed ({code, name, old_status,
    new_status} each)."""

    __tablename__ = "status_incident_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    status_incident_id: Mapped[int] = mapped_column(
        ForeignKey("status_incidents.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    affected_components: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    display_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusSubscriber(Base):
    """An email address (confirmed by double opt-in) or a webhook URL that gets the page's notices.

    The confirmation token is kept only as its SHA-256; the unsubscribe token must go into every notice, so
    it is kept as issued and compared in constant time."""

    __tablename__ = "status_subscribers"
    __table_args__ = (
        UniqueConstraint("kind", "address"),
        Index("ix_status_subscribers_requested_from", "requested_from", "confirmation_sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # email, webhook
    address: Mapped[str] = mapped_column(String(1000))
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64))
    unsubscribe_token: Mapped[str] = mapped_column(String(64))
    # A keyed hash of the address the subscribe form was posted from: rate limits without keeping the IP.
    requested_from: Mapped[str | None] = mapped_column(String(64))
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusSubscriberComponent(Base):
    """A subscriber limited to some components hears only of notices touching them."""

    __tablename__ = "status_subscriber_components"
    __table_args__ = (UniqueConstraint("subscriber_id", "component_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("status_subscribers.id", ondelete="CASCADE"))
    component_id: Mapped[int] = mapped_column(
        ForeignKey("status_components.id", ondelete="CASCADE"), index=True
    )
