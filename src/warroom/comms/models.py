"""Stakeholder lists: who gets each audience's updates, on which channel. Data, not procedure: people come
and go far more often than the procedure changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class StakeholderRecipient(Base):
    __tablename__ = "stakeholder_recipients"
    __table_args__ = (UniqueConstraint("audience", "channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(1000))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
