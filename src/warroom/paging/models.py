from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class Escalation(Base):
    """One alert's walk through its service's policy: which step and round, and whether someone answered."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), unique=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policies.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))  # active, acknowledged, resolved, exhausted
    urgency: Mapped[str] = mapped_column(String(8))  # high, low
    step: Mapped[int] = mapped_column(default=0)  # the next step to run
    round: Mapped[int] = mapped_column(default=0)
    generation: Mapped[int] = mapped_column(default=0)  # bumped on every restart, so old step jobs no-op
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(320))
