"""Schedules (layers of rotations, overrides) and escalation policies (ordered steps of targets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class Schedule(Base):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))  # for display; each layer keeps its own
    ical_token: Mapped[str] = mapped_column(String(64), unique=True)  # the unguessable feed URL's secret
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScheduleLayer(Base):
    """One rotation: participants in order, a shift length, a handoff anchor and a zone of its own."""

    __tablename__ = "schedule_layers"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int]
    participant_ids: Mapped[list[int]] = mapped_column(JSON)
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shift_length: Mapped[int]
    shift_unit: Mapped[str] = mapped_column(String(8))
    time_zone: Mapped[str] = mapped_column(String(64))
    restrictions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class ScheduleOverride(Base):
    __tablename__ = "schedule_overrides"
    __table_args__ = (Index("ix_schedule_overrides_window", "schedule_id", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EscalationPolicy(Base):
    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    repeat: Mapped[int] = mapped_column(default=0)  # extra rounds through all steps when nobody acknowledges
    unack_timeout_seconds: Mapped[int | None]  # re-page if acknowledged but not resolved in time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EscalationStep(Base):
    """Wait `delay_seconds` after the previous step (or the alert), then page every target."""

    __tablename__ = "escalation_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("escalation_policies.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    delay_seconds: Mapped[int]
    targets: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON
    )  # [{"type": "user"|"schedule"|"team", "id": n}]
