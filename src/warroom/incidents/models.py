from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class Incident(Base):
    """Current state, kept for queries; the timeline is the history it was derived from."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_declared", "status", "declared_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    customer_impact: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16), index=True)
    type: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    procedure_hash: Mapped[str] = mapped_column(String(64))
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    impact_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contained_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mitigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Security milestones (incidents/milestones.py): the first malicious activity is an estimate.
    compromised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eradicated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Stakeholder-update cadence: the last update, when the next is due (None when the severity sets no
    # cadence or the incident is not active), and the last reminder to the communications lead.
    last_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_update_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    update_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Drills run the real procedure; metrics leave them out unless asked.
    drill: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Seen only by its participants and admins (incidents.visibility); to others it does not exist.
    restricted: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The playbook it started; procedure_hash says which version of it.
    playbook: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Head of the timeline chain: appending needs no read of the last event, and a deleted tail shows.
    timeline_seq: Mapped[int] = mapped_column(default=0)
    timeline_head: Mapped[str] = mapped_column(String(64))


class IncidentService(Base):
    __tablename__ = "incident_services"
    __table_args__ = (UniqueConstraint("incident_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)


class RoleAssignment(Base):
    """Who held which role when: a row per holding, closed by `unassigned_at`."""

    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    unassigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unassigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Task(Base):
    __tablename__ = "incident_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A playbook step (incidents/playbooks.py): which step of the incident's playbook, its phase and role;
    # a `gate` holds the incident in `phase` until the task is done or waived by the commander.
    step_id: Mapped[str | None] = mapped_column(String(64))
    phase: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(64))
    mandatory: Mapped[bool] = mapped_column(default=False, server_default=false())
    gate: Mapped[bool] = mapped_column(default=False, server_default=false())
    action: Mapped[str | None] = mapped_column(String(64))
    evidence_prompt: Mapped[str] = mapped_column(Text, default="", server_default="")
    links: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    done_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    waived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waived_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    waived_reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class ExitCheck(Base):
    """One exit criterion of a phase ticked on one incident (who, when); unticking deletes the row."""

    __tablename__ = "incident_exit_checks"
    __table_args__ = (UniqueConstraint("incident_id", "phase", "criterion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(String(64))
    criterion: Mapped[int] = mapped_column()  # its index in the phase's exit_criteria
    text: Mapped[str] = mapped_column(Text)  # as the procedure said it when ticked
    ticked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ticked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusUpdate(Base):
    """`internal` notes are for responders; `stakeholder` updates are what stakeholders may read."""

    __tablename__ = "status_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    audience: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentLink(Base):
    """A titled URL on an incident: the dashboard, the chat channel, the ticket, the runbook."""

    __tablename__ = "incident_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentParticipant(Base):
    """Someone explicitly let into a restricted incident (role holders and the security team are implied)."""

    __tablename__ = "incident_participants"
    __table_args__ = (UniqueConstraint("incident_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
