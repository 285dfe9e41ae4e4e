"""config token check: a PostgreSQL function that fails the transaction if the token is not the one given,
and a NOTIFY with every change of the token

A worker that has the configuration cached no longer reads the token before a group of jobs: it checks,
with the group's commit (in its pipeline: no wait of its own), that the token is still the one its cache
was read under, and the group fails (serialization_failure) if it is not; the worker then runs its jobs
again at once, reading afresh (jobs.config_cache). So that a change seldom costs a group that, the
trigger's function also notifies the workers' channel (`warroom_jobs`, payload `config`), and a worker
empties its cache when told. SQLite has no such round trip to save: nothing there.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 23:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_FUNCTION = """
CREATE FUNCTION warroom_config_is(expected text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM config_version WHERE id = 1 AND token = expected) THEN
        RAISE EXCEPTION 'the configuration changed under this transaction'
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN true;
END
$$
"""


PG_CHANGED = """
CREATE OR REPLACE FUNCTION warroom_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET token = gen_random_uuid()::text WHERE id = 1;
    PERFORM pg_notify('warroom_jobs', 'config');
    RETURN NULL;
END
$$
"""
PG_CHANGED_BEFORE = """
CREATE OR REPLACE FUNCTION warroom_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET token = gen_random_uuid()::text WHERE id = 1;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_CHANGED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_CHANGED_BEFORE)
        op.execute("DROP FUNCTION IF EXISTS warroom_config_is(text)")
