from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class Escalation(Base):
    """A walk through a policy, or one page of fixed targets: which step and round, and whether someone
    answered. An alert's walk follows its service's policy; a declared incident gets one walk per target
    its severity pages (`target`: "policy:<slug>", "schedule:<slug>", "team:<slug>" or "user:<email>")."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("incident_id", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), unique=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    target: Mapped[str | None] = mapped_column(String(200))
    # A walk with no policy pages these ([{"type": "schedule"|"team"|"user", "id": n}]) once.
    targets: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(300))  # why the incident paged this target
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_policies.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))  # active, acknowledged, resolved, exhausted
    urgency: Mapped[str] = mapped_column(String(8))  # high, low
    step: Mapped[int] = mapped_column(default=0)  # the next step to run
    round: Mapped[int] = mapped_column(default=0)
    generation: Mapped[int] = mapped_column(default=0)  # bumped on every restart, so old step jobs no-op
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(320))
