"""Jira rules (which project an incident's issue goes to), the issues made, and the webhook deliveries
seen (so a replayed one is refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class JiraRule(Base):
    """Incidents of a service and/or type get an issue in `project`. A restricted incident only ever uses a
    rule marked `restricted` (a project kept for them), and an open one never does."""

    __tablename__ = "jira_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)  # the first matching rule wins
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    incident_type: Mapped[str | None] = mapped_column(String(64))
    restricted: Mapped[bool] = mapped_column(default=False)
    project: Mapped[str] = mapped_column(String(64))
    issue_type: Mapped[str] = mapped_column(String(64), default="Task")
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    priorities: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # P1 -> Highest ...
    statuses: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # Jira status -> phase
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JiraIssue(Base):
    """An issue warroom made, for an incident or a review action item; `key` is empty until Jira answers."""

    __tablename__ = "jira_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), unique=True)  # "incident:12" or "action_item:34"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    action_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("action_items.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("jira_rules.id", ondelete="SET NULL"))
    project: Mapped[str] = mapped_column(String(64))
    restricted_project: Mapped[bool] = mapped_column(default=False)
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str | None] = mapped_column(String(100))  # as Jira last said
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what warroom last wrote
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JiraDelivery(Base):
    """A webhook delivery taken (Jira's X-Atlassian-Webhook-Identifier): the same one again is a replay."""

    __tablename__ = "jira_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(200), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
