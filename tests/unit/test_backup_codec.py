"""The export codec: every column type's value survives JSON exactly, and a header names what is wrong."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from warroom.backup.codec import FormatError, codec_for, parse_header
from warroom.db import UTCDateTime

COLUMNS = {
    "at": UTCDateTime(),
    "day": sa.Date(),
    "body": sa.LargeBinary(),
    "flag": sa.Boolean(),
    "ratio": sa.Float(),
    "count": sa.Integer(),
    "name": sa.Text(),
}
_table = sa.Table("t", sa.MetaData(), *(sa.Column(name, kind) for name, kind in COLUMNS.items()))


def through_json(column: str, value: Any) -> Any:
    encode, decode = codec_for(_table.c[column])
    return decode(json.loads(json.dumps(encode(value))))


@given(
    at=st.datetimes(timezones=st.just(UTC)),
    day=st.dates(),
    body=st.binary(),
    flag=st.booleans(),
    ratio=st.floats(allow_nan=False),
    count=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    name=st.text(),
)
def test_every_column_type_round_trips_exactly(
    at: datetime, day: date, body: bytes, flag: bool, ratio: float, count: int, name: str
) -> None:
    values = {"at": at, "day": day, "body": body, "flag": flag, "ratio": ratio, "count": count, "name": name}
    for column, value in values.items():
        back = through_json(column, value)
        assert back == value and type(back) is type(value), column
    assert through_json("at", at).utcoffset() == timedelta(0)


def test_a_datetime_keeps_its_offset_and_a_naive_one_is_refused() -> None:
    elsewhere = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert through_json("at", elsewhere) == elsewhere
    with pytest.raises(ValueError):
        through_json("at", datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        codec_for(_table.c["at"])[1]("2026-01-01T00:00:00")


@pytest.mark.parametrize(
    ("column", "value"), [("count", True), ("count", "1"), ("flag", 1), ("ratio", "0.5"), ("name", 3)]
)
def test_a_value_of_the_wrong_json_type_is_refused(column: str, value: Any) -> None:
    with pytest.raises(ValueError):
        codec_for(_table.c[column])[1](value)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"format": "something-else"}, "not a warroom export"),
        ({"format": "warroom-export", "version": 2}, "format version 2 is not supported"),
        ({"format": "warroom-export", "version": 1, "tables": {}}, "lacks its revision"),
        ({"format": "warroom-export", "version": 1, "revision": "1", "tables": {"t": -1}}, "whole numbers"),
    ],
)
def test_a_bad_header_says_what_is_wrong(header: dict[str, Any], reason: str) -> None:
    with pytest.raises(FormatError, match=reason):
        parse_header(header)
