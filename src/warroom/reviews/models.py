"""Post-incident reviews: the review, its curated timeline, its reviewers and its action items.

The incident timeline itself is append-only and hash-chained, so curation never edits an event: a
`ReviewTimelineEntry` overlays one (hide it, highlight it, annotate it, correct its time with the
original kept on the event) or adds a note of its own (`event_id` is null).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime

REVIEW_STATUSES = ("draft", "in_review", "published")
ACTION_TYPES = ("mitigate", "prevent", "process", "other")
ACTION_STATUSES = ("open", "in_progress", "done", "wont_do")


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    template: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    impact: Mapped[str] = mapped_column(Text, default="")
    customers_affected: Mapped[int | None] = mapped_column()
    # Frozen from the incident's milestones and its services' cost per minute while the review is open.
    impact_minutes: Mapped[float | None] = mapped_column(Float)
    cost_estimate: Mapped[float | None] = mapped_column(Float)
    trigger: Mapped[str] = mapped_column(Text, default="")
    five_whys: Mapped[list[str]] = mapped_column(JSON, default=list)
    contributing_factors: Mapped[list[str]] = mapped_column(JSON, default=list)
    detection: Mapped[str] = mapped_column(Text, default="")
    detection_improvement: Mapped[str] = mapped_column(Text, default="")
    went_well: Mapped[str] = mapped_column(Text, default="")
    went_wrong: Mapped[str] = mapped_column(Text, default="")
    got_lucky: Mapped[str] = mapped_column(Text, default="")
    # Answers to the template's own questions, keyed by question text.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ReviewReviewer(Base):
    __tablename__ = "review_reviewers"
    __table_args__ = (UniqueConstraint("review_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReviewTimelineEntry(Base):
    __tablename__ = "review_timeline_entries"
    __table_args__ = (UniqueConstraint("review_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("timeline_events.id", ondelete="CASCADE"))
    # For an added note, when it happened; for an event, a corrected time (the event keeps the original).
    at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden: Mapped[bool] = mapped_column(default=False)
    highlighted: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ActionItem(Base):
    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_status_due_on", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    tracker_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last day (UTC) the owner was reminded it is overdue: at most one reminder a day.
    last_reminded_on: Mapped[date | None] = mapped_column(Date)
