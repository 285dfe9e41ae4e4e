"""HubSpot tickets warroom knows (with their companies and contacts as last read), the rules that link a
ticket to an incident's service, and the webhook events taken (a replayed one is refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class CrmRule(Base):
    """A ticket whose category or pipeline is `value` concerns `service`: it joins that service's open
    incident (the latest declared)."""

    __tablename__ = "crm_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    field: Mapped[str] = mapped_column(String(32))  # hs_ticket_category | hs_pipeline
    value: Mapped[str] = mapped_column(String(200))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CrmTicket(Base):
    __tablename__ = "crm_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(64), unique=True)  # HubSpot's object id
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(String(500), default="")
    companies: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list
    )  # id, name, the picked properties
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # id, email, name
    linked_by: Mapped[str | None] = mapped_column(String(32))  # rule | property | hand
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CrmEvent(Base):
    """A HubSpot webhook event taken, by its eventId."""

    __tablename__ = "crm_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
