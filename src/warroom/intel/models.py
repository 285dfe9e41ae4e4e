from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class Feed(Base):
    """A source of indicators, polled by a durable job on its own queue; its state is what the UI shows."""

    __tablename__ = "intel_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # stix | taxii | misp | csv | text
    url: Mapped[str] = mapped_column(String(2000))  # http(s):// or file://
    collection: Mapped[str | None] = mapped_column(String(200))  # TAXII: the collection's id
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # csv columns, default type ...
    interval_seconds: Mapped[int] = mapped_column(default=3600)
    enabled: Mapped[bool] = mapped_column(default=True)
    tlp: Mapped[str] = mapped_column(String(16), default="amber")
    confidence: Mapped[int] = mapped_column(default=50)
    # What a match does: raise the alert's severity to this; declare an incident of this type and severity.
    raise_to: Mapped[str | None] = mapped_column(String(16))
    declare_type: Mapped[str | None] = mapped_column(String(64))
    declare_severity: Mapped[str | None] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))  # told of hunts
    cursor: Mapped[str | None] = mapped_column(String(100))  # TAXII added_after of the last poll
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # added, updated, rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Indicator(Base):
    """One indicator from a feed: an exact (type, value) the index matches, and/or a STIX pattern."""

    __tablename__ = "intel_indicators"
    __table_args__ = (
        UniqueConstraint("feed_id", "source_ref"),
        Index("ix_intel_indicators_type_value", "type", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("intel_feeds.id", ondelete="CASCADE"), index=True)
    source_ref: Mapped[str] = mapped_column(String(300))  # the STIX id, or the feed's own key for the row
    type: Mapped[str | None] = mapped_column(String(16))  # an observable type, when one value says it all
    value: Mapped[str | None] = mapped_column(String(2000))
    pattern: Mapped[str | None] = mapped_column(Text)  # the STIX pattern, when there is one
    name: Mapped[str] = mapped_column(String(300))
    confidence: Mapped[int] = mapped_column(default=50)
    tlp: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(default=False, server_default=false())
    kill_chain_phases: Mapped[list[str]] = mapped_column(JSON, default=list)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AlertObservable(Base):
    """The observables extracted from an alert when it was matched: what a retro-hunt searches."""

    __tablename__ = "alert_observables"
    __table_args__ = (
        UniqueConstraint("alert_id", "type", "value"),
        Index("ix_alert_observables_type_value", "type", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(2000))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Sighting(Base):
    """An indicator seen: on an alert, or on an incident's observable; how often, first and last."""

    __tablename__ = "intel_sightings"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("intel_indicators.id", ondelete="CASCADE"), index=True
    )
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    observable_id: Mapped[int | None] = mapped_column(
        ForeignKey("observables.id", ondelete="CASCADE"), index=True
    )
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    matched: Mapped[str] = mapped_column(String(2000))  # the value (or pattern) that matched
    via: Mapped[str] = mapped_column(String(16))  # arrival | hunt
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    count: Mapped[int] = mapped_column(default=1)


class Software(Base):
    """What a service runs, as its owners declare it: matched against the vulnerabilities feeds list."""

    __tablename__ = "intel_software"
    __table_args__ = (UniqueConstraint("service_id", "name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)  # lower case, as vulnerabilities name it
    version: Mapped[str | None] = mapped_column(String(100))


class Vulnerability(Base):
    """A CVE a feed lists for a product (versions: those affected; none listed means every version)."""

    __tablename__ = "intel_vulnerabilities"
    __table_args__ = (UniqueConstraint("feed_id", "cve", "product"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("intel_feeds.id", ondelete="CASCADE"), index=True)
    cve: Mapped[str] = mapped_column(String(40), index=True)
    vendor: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(200), index=True)  # lower case
    versions: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[str] = mapped_column(String(16))  # critical | high | medium | low | unknown
    exploited: Mapped[bool] = mapped_column(default=False)
    ransomware: Mapped[bool] = mapped_column(default=False)
    due_on: Mapped[date | None] = mapped_column(Date)  # the feed's own deadline, if it sets one
    description: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Finding(Base):
    """A vulnerability in software a service runs: a task for the service's team, due by its severity."""

    __tablename__ = "vulnerability_findings"
    __table_args__ = (UniqueConstraint("service_id", "vulnerability_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    vulnerability_id: Mapped[int] = mapped_column(ForeignKey("intel_vulnerabilities.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    software: Mapped[str] = mapped_column(String(300))  # "openssl 3.0.1"
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | done | wont_fix
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
