from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class ChatRoom(Base):
    """Where one incident is mirrored: its own Slack channel, the broadcast channel, a Teams or Mattermost
    webhook. Timeline events after `cursor_seq` are still to be posted; `locked_until` is the lease of the
    one job posting them, so posts arrive in timeline order whatever the retries. `card_ts` is the Slack
    summary card's message and `card_hash` what it last showed, so the card is edited only when it would
    change (rooms opened before they were kept have neither, and their card is left as it is)."""

    __tablename__ = "chat_rooms"
    __table_args__ = (
        UniqueConstraint("incident_id", "provider", "purpose"),
        Index("ix_chat_rooms_channel", "provider", "channel_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))  # slack, teams, mattermost
    purpose: Mapped[str] = mapped_column(String(16))  # war_room, broadcast
    internal: Mapped[bool]  # internal notes and roles are posted here
    channel_id: Mapped[str | None] = mapped_column(String(64))
    channel_name: Mapped[str | None] = mapped_column(String(80))
    url: Mapped[str | None] = mapped_column(String(2000))
    topic: Mapped[str | None] = mapped_column(String(250))
    card_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    card_ts: Mapped[str | None] = mapped_column(String(32))
    card_hash: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cursor_seq: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChatUser(Base):
    """A chat account and the warroom user it is (matched by email), looked up once and kept."""

    __tablename__ = "chat_users"
    __table_args__ = (UniqueConstraint("provider", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    looked_up_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChatCapture(Base):
    """A chat message put on an incident's timeline (pinned or marked): once, however often it is marked."""

    __tablename__ = "chat_captures"
    __table_args__ = (UniqueConstraint("provider", "channel_id", "message_ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str] = mapped_column(String(64))
    message_ts: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())
