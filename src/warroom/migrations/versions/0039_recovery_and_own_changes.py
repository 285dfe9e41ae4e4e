"""recovery and own changes: an incident's recovery changes the configuration token too, and a transaction's
own change passes its check

Triage reads, per group and service, the incident that recovered last on the service (the procedure's
recurrence_watch); it depends on nothing but incidents' status, resolution and drill flag and their
services, so a worker caches it with the configuration (jobs.config_cache) once any change to those
changes the token. Only those columns of `incidents` are watched: the timeline's writes to an incident
(its sequence, its last update) leave the cache alone.

PostgreSQL: a group that itself changes the configuration (a rule declaring an incident, now) must not fail
its own check at the commit (migration 0038). The token's row remembers which transaction wrote it and the
token before that transaction's first change; the check passes for the transaction that wrote it if the
token before was the one expected. Its row lock keeps any other writer out until that transaction ends.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-08 00:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = "status, resolved_at, drill"  # of incidents: what the last recovery on a service depends on
SQLITE_BUMP = "UPDATE config_version SET token = lower(hex(randomblob(16))) WHERE id = 1"


PG_CHANGED = """
CREATE OR REPLACE FUNCTION warroom_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET
        previous = CASE WHEN writer = txid_current() THEN previous ELSE token END,
        token = gen_random_uuid()::text,
        writer = txid_current()
    WHERE id = 1;
    PERFORM pg_notify('warroom_jobs', 'config');
    RETURN NULL;
END
$$
"""
PG_CHECK = """
CREATE OR REPLACE FUNCTION warroom_config_is(expected text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM config_version WHERE id = 1 AND (
            token = expected OR (writer = txid_current_if_assigned() AND previous = expected)
        )
    ) THEN
        RAISE EXCEPTION 'the configuration changed under this transaction'
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN true;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE config_version ADD COLUMN previous varchar(64), ADD COLUMN writer bigint")
        op.execute(PG_CHANGED)
        op.execute(PG_CHECK)
        op.execute(
            f"CREATE TRIGGER incidents_config_changed AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF "
            f"{WATCHED} ON incidents FOR EACH STATEMENT EXECUTE FUNCTION warroom_config_changed()"
        )
        op.execute(
            "CREATE TRIGGER incident_services_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            "ON incident_services FOR EACH STATEMENT EXECUTE FUNCTION warroom_config_changed()"
        )
        return
    for event in ("INSERT", "DELETE", f"UPDATE OF {WATCHED}"):
        name = event.split()[0].lower()
        op.execute(
            f"CREATE TRIGGER incidents_config_{name} AFTER {event} ON incidents BEGIN {SQLITE_BUMP}; END"
        )
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER incident_services_config_{event.lower()} AFTER {event} ON incident_services "
            f"BEGIN {SQLITE_BUMP}; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS incidents_config_changed ON incidents")
        op.execute("DROP TRIGGER IF EXISTS incident_services_config_changed ON incident_services")
        for function in _as_in_0038(PG_CHANGED), _as_in_0038(PG_CHECK):
            op.execute(function)
        op.execute("ALTER TABLE config_version DROP COLUMN previous, DROP COLUMN writer")
        return
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS incidents_config_{name}")
        op.execute(f"DROP TRIGGER IF EXISTS incident_services_config_{name}")


def _as_in_0038(function: str) -> str:
    """The function as migration 0038 left it: no writer, no previous token."""
    return (
        function.replace(
            "        previous = CASE WHEN writer = txid_current() THEN previous ELSE token END,\n", ""
        )
        .replace(",\n        writer = txid_current()", "")
        .replace(" OR (writer = txid_current_if_assigned() AND previous = expected)", "")
    )
