"""What the CLI names before a backup command runs (its options and its failure), without loading every
table's model or Alembic: `warroom version` and the operator commands stay quick to start."""

from __future__ import annotations

from enum import StrEnum


class Method(StrEnum):
    AUTO = "auto"
    SQLITE = "sqlite-backup-api"
    PG_DUMP = "pg_dump"
    EXPORT = "export"


class BackupFailed(Exception):
    """A backup, export or import that did not happen, phrased for the person at the terminal; when it is
    raised, nothing was written to the target."""
