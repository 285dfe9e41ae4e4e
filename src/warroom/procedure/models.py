from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from warroom.db import Base, UTCDateTime


class ProcedureVersion(Base):
    """Every procedure the server ran under, keyed by content hash, so old incidents stay explainable."""

    __tablename__ = "procedure_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text)
    first_loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
