"""The export format, pure: the header line, and each column's value to JSON and back.

A file is one header line, then one line per row in foreign-key order:
    {"format": "warroom-export", "version": 1, "revision": "0010", "tables": {"users": 3, ...}, ...}
    {"table": "users", "row": {"id": 1, "created_at": "2026-03-02T10:00:00+00:00", ...}}
Datetimes keep their offset, dates are ISO, bytes are base64, floats use Python's shortest exact repr. A JSON
column holds its document as is; SQL NULL is null, and the rare document that is itself JSON null is named in
the row line's "json_null" list, so the two never merge.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from warroom.db import UTCDateTime

FORMAT_NAME = "warroom-export"
FORMAT_VERSION = 1

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


class FormatError(ValueError):
    """The file is not an export this version can read; the message says why in one line."""


@dataclass(frozen=True)
class Header:
    revision: str
    row_counts: dict[str, int]
    source_dialect: str
    exported_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "revision": self.revision,
            "source": self.source_dialect,
            "exported_at": self.exported_at,
            "tables": self.row_counts,
        }

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())


def parse_header(line: Mapping[str, Any]) -> Header:
    if line.get("format") != FORMAT_NAME:
        raise FormatError("not a warroom export (its first line has no warroom-export header)")
    if line.get("version") != FORMAT_VERSION:
        raise FormatError(
            f"export format version {line.get('version')!r} is not supported (this warroom reads "
            f"version {FORMAT_VERSION})"
        )
    counts = line.get("tables")
    revision = line.get("revision")
    if not isinstance(revision, str) or not isinstance(counts, dict):
        raise FormatError("the export header lacks its revision or its table counts")
    if not all(isinstance(n, int) and n >= 0 for n in counts.values()):
        raise FormatError("the export header's table counts are not whole numbers")
    return Header(
        revision=revision,
        row_counts={str(name): int(n) for name, n in counts.items()},
        source_dialect=str(line.get("source", "")),
        exported_at=str(line.get("exported_at", "")),
    )


def is_json(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.JSON)


def _encode_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("a naive datetime cannot be exported exactly")
    return value.isoformat()


def _decode_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"datetime {text!r} has no offset")
    return value


def _encode_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _decode_bytes(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def unchanged(value: Any) -> Any:
    """The codec of values JSON holds as they are (ints, text, booleans, floats)."""
    return value


def _decode_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _decode_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not an integer")
    return value


def _decode_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not true or false")
    return value


def _decode_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    return value


def codec_for(column: sa.Column[Any]) -> tuple[Encoder, Decoder]:
    """How one column's non-null value is written and read back (JSON columns are handled by the caller)."""
    kind = column.type
    if isinstance(kind, UTCDateTime | sa.DateTime):
        return _encode_datetime, _decode_datetime
    if isinstance(kind, sa.Date):
        return date.isoformat, date.fromisoformat
    if isinstance(kind, sa.LargeBinary):
        return _encode_bytes, _decode_bytes
    if isinstance(kind, sa.Boolean):
        return unchanged, _decode_bool
    if isinstance(kind, sa.Float):
        return unchanged, _decode_float
    if isinstance(kind, sa.Integer):
        return unchanged, _decode_int
    if isinstance(kind, sa.String):  # Text is a String
        return unchanged, _decode_str
    raise TypeError(f"no export codec for {column.table.name}.{column.name} ({kind!r})")
