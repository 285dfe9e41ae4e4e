"""The intake writer sends its hottest rows through the driver (alerts/intake/driver_rows.py); every other
reader goes through SQLAlchemy. A row written either way must be stored identically, column by column, on
both databases: datetimes, JSON, flags, bytes, defaults and NULLs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import LargeBinary, String, Table, insert, select
from sqlalchemy import cast as sql_cast

from tests.integration.conftest import Api
from tests.integration.test_intake import integration, pd_event
from warroom.alerts.intake.driver_rows import insert_rows
from warroom.alerts.models import Alert, AlertEvent, RawEvent, ServiceChange
from warroom.jobs.models import Job

EAST = timezone(timedelta(hours=5, minutes=30))  # stored as UTC whatever zone it came in
AT = datetime(2026, 3, 2, 15, 4, 5, 123456, tzinfo=EAST)
ODD_JSON = {"ünïcode": "✓ \u2028", "nested": [1, 2.5, None, True, {"deep": ["x"]}], "empty": {}}


def _rows(integration_id: int, service_id: int, alert_id: int) -> dict[Any, tuple[str, list[dict[str, Any]]]]:
    """Per table: the column that must differ between the two copies, and the two rows."""

    def twice(row: dict[str, Any], unique: str) -> tuple[str, list[dict[str, Any]]]:
        return unique, [{**row, unique: f"{row[unique]}-driver"}, {**row, unique: f"{row[unique]}-orm"}]

    alert = {
        "uid": "u", "integration_id": integration_id, "service_id": service_id, "dedup_key": "same-shape",
        "group_key": None, "status": "resolved", "severity": "critical", "raw_severity": "P1", "title": "T",
        "labels": {"a": "b"}, "links": [], "details": ODD_JSON, "first_seen_at": AT, "last_seen_at": AT,
        "triaged": True,  # description, source, count: their defaults. Resolved: two may share a key.
    }  # fmt: skip
    raw = {
        "request_id": "r", "integration_id": integration_id, "received_at": AT, "content_type": "a/b",
        "headers": {"x": "y"}, "body": b"\x00\xff raw", "route": {"kind": "k"}, "result": ODD_JSON,
    }  # fmt: skip
    event = {
        "alert_id": alert_id,
        "request_id": "e",
        "at": AT,
        "action": "trigger",
        "actor": None,
        "data": None,
    }
    job = {
        "kind": "alert.triage",
        "payload": ODD_JSON,
        "run_at": AT,
        "created_at": AT,
        "idempotency_key": "j",
    }
    change = {
        "service_id": service_id, "integration_id": integration_id, "request_id": "c", "at": AT,
        "summary": "deploy", "links": [{"href": "h"}], "details": ODD_JSON,
    }  # fmt: skip
    return {
        Alert: twice(alert, "uid"),
        RawEvent: twice(raw, "request_id"),
        AlertEvent: twice(event, "request_id"),
        Job: twice(job, "idempotency_key"),
        ServiceChange: twice(change, "request_id"),
    }


async def _stored(api: Api, table: Table, unique: str, value: str) -> dict[str, Any]:
    """The row as the database holds it: every column read back as text, and as SQLAlchemy loads it."""
    columns = [column for column in table.columns if not column.primary_key and column.name != unique]
    as_text = [
        column if isinstance(column.type, LargeBinary) else sql_cast(column, String).label(column.name)
        for column in columns
    ]
    async with api.context.db.read() as session:
        text_row = (await session.execute(select(*as_text).where(table.c[unique] == value))).one()
        loaded = (await session.execute(select(*columns).where(table.c[unique] == value))).one()
    return {"text": text_row._asdict(), "loaded": loaded._asdict()}


async def test_rows_through_the_driver_are_stored_as_sqlalchemy_stores_them(api: Api) -> None:
    made = await integration(api, "pagerduty")
    sent = await api.anonymous.post("/v2/enqueue", json=pd_event(made["key"], dedup="seed"))
    assert sent.status_code == 202
    async with api.context.db.read() as session:
        seed = (await session.execute(select(Alert.id, Alert.integration_id, Alert.service_id))).one()
    for model, (unique, (by_driver, by_orm)) in _rows(seed[1], seed[2], seed[0]).items():
        table = cast(Table, model.__table__)
        async with api.context.db.write() as session:
            connection = await session.connection()
            await insert_rows(connection, table, [by_driver])
            await connection.execute(insert(table), [by_orm])
            await session.commit()
        driver = await _stored(api, table, unique, by_driver[unique])
        orm = await _stored(api, table, unique, by_orm[unique])
        assert driver == orm, table.name
    stored = await _stored(api, cast(Table, Alert.__table__), "uid", "u-driver")
    assert stored["loaded"]["first_seen_at"] == AT and stored["loaded"]["details"] == ODD_JSON
    assert stored["loaded"]["count"] == 1 and stored["loaded"]["description"] == ""


async def test_a_naive_time_is_refused_as_sqlalchemy_refuses_it(api: Api) -> None:
    made = await integration(api, "pagerduty")
    row = {"request_id": "naive", "integration_id": made["id"], "received_at": datetime(2026, 3, 2)}
    async with api.context.db.write() as session:
        with pytest.raises(ValueError, match="naive datetime"):
            await insert_rows(await session.connection(), cast(Table, RawEvent.__table__), [row])
