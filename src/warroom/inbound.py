"""Every inbound value is hostile until normalised: one step for JSON and text from intake, the API and forms.

What it guarantees, the same on SQLite and PostgreSQL (SQLite stores what PostgreSQL refuses, so without this
the two databases disagree and PostgreSQL answers 500):
- JSON nested deeper than MAX_DEPTH is refused (the parser's own limit is a RecursionError near 1,000, and
  a stored value 300 deep later broke every listing that serialised it);
- NaN, Infinity and numbers that overflow a float are refused: they are not JSON (RFC 8259) and PostgreSQL's
  JSON types refuse them;
- NUL characters are removed from every string and key (PostgreSQL text and jsonb cannot hold them), and a
  lone surrogate ("\\ud800", legal in a JSON escape but not in UTF-8) becomes U+FFFD.
Over-long values are the caller's decision, by each sender's contract: `fit_text` shortens what describes,
`fit_identifier` hashes what identifies (so two long keys stay distinct and the same long key stays the same).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import orjson

from warroom.json_text import has_long_number

MAX_DEPTH = 32
INT64 = (-(2**63), 2**63 - 1)
ELLIPSIS = "…"


class InboundRejected(ValueError):
    """A value refused before anything reads it; the message names the limit it broke."""


def _refuse_constant(name: str) -> Any:
    raise InboundRejected(f"{name} is not a JSON number")


def parse_json(data: bytes | str, *, int64: bool = False) -> Any:
    """`data` as JSON, normalised (see the module); InboundRejected saying why not.

    With `int64`, integers outside a signed 64-bit range are refused too (the API's integer columns).
    """
    if isinstance(data, bytes):
        fast = _parsed_by_orjson(data, int64=int64)
        if fast is not _NOT_FAST:
            return fast
    return parsed_by_json(data, int64=int64)


def parsed_by_json(data: bytes | str, *, int64: bool = False) -> Any:
    """parse_json by the standard library alone: what decides every refusal, and what orjson's reading
    is tested against (tests/unit/test_inbound_orjson.py)."""
    try:
        value = json.loads(data or b"null", parse_constant=_refuse_constant)
    except RecursionError:
        raise InboundRejected(f"is nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InboundRejected(f"is not valid JSON ({error})") from None
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        raise InboundRejected(f"is not acceptable JSON ({error})") from None
    return clean_value(value, int64=int64)


_NOT_FAST = object()


def _parsed_by_orjson(data: bytes, *, int64: bool) -> Any:
    """`data` read by orjson (warroom.json_text) where that is sure to give what parsed_by_json gives (~4
    µs for a PagerDuty trigger instead of 19); else _NOT_FAST. orjson refuses NaN, Infinity, overflowing
    numbers, invalid UTF-8 and lone surrogates as parsed_by_json does, and every refusal is left to
    parsed_by_json, for its messages (and its U+FFFD for a lone surrogate). orjson reads what would need
    cleaning (a NUL escape, nesting past MAX_DEPTH, which a count of brackets bounds) and integers past 64
    bits (as floats): the first is cleaned here, the second left to parsed_by_json."""
    if not data or has_long_number(data):
        return _NOT_FAST
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _NOT_FAST
    if b"\\u0000" in data or data.count(b"[") + data.count(b"{") > MAX_DEPTH:
        return clean_value(value, int64=int64)
    return value


def clean_value(value: Any, *, int64: bool = False, depth: int = 0) -> Any:
    """`value` (as json.loads returns it) with every string cleaned; InboundRejected past the limits."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if int64 and not INT64[0] <= value <= INT64[1]:
            raise InboundRejected(f"the number {str(value)[:24]}... is out of range (64-bit integers)")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InboundRejected("a number overflows (Infinity is not a JSON number)")
        return value
    if depth >= MAX_DEPTH:
        raise InboundRejected(f"is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {clean_text(k): clean_value(v, int64=int64, depth=depth + 1) for k, v in value.items()}
    return [clean_value(item, int64=int64, depth=depth + 1) for item in value]


def clean_text(text: str) -> str:
    """`text` without NUL characters, lone surrogates replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def fit_text(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def fit_identifier(key: str, limit: int) -> str:
    """`key` if it fits; else its start and a SHA-256 of the whole, `limit` characters in all."""
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[: limit - len(digest) - 1]}~{digest}"


def is_digits(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes '³' and other digits `int()` then refuses."""
    return text.isascii() and text.isdigit()


def clip_depth(value: Any, depth: int = MAX_DEPTH) -> Any:
    """`value` with what lies deeper than `depth` replaced by a marker: for rows stored before the limit."""
    if isinstance(value, dict | list) and depth <= 0:
        return ELLIPSIS
    if isinstance(value, dict):
        return {k: clip_depth(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clip_depth(v, depth - 1) for v in value]
    return value


def row_id(text: str) -> int | None:
    """`text` as a row id (ASCII digits within 64 bits), else None: such an id names no row."""
    return int(text) if is_digits(text) and len(text) <= 18 else None


PRIMARY_KEY_MAX = 2**31 - 1  # primary keys are `integer` on PostgreSQL


def primary_key(text: str) -> int | None:
    """`text` as a primary key, else None: past PostgreSQL's `integer` no row has it, and asking PostgreSQL
    would be refused (422) where SQLite finds nothing (404): the same reference must get the same answer."""
    value = row_id(text)
    return value if value is not None and value <= PRIMARY_KEY_MAX else None
