from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class DrillRun(Base):
    """One drill: the scenario (snapshot), when it fires and what it produced.

    ``fire_at`` is the chosen time; for an unannounced drill it is never shown in any API response."""

    __tablename__ = "drill_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[str] = mapped_column(String(100))
    scenario: Mapped[dict[str, Any]] = mapped_column(JSON)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"))
    # The team drilled (trends per team): chosen when scheduled, else the team owning the incident's service.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # game_day | unannounced
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    alert_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    pending_alerts: Mapped[list[str]] = mapped_column(JSON, default=list)  # injected, not yet sent
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
