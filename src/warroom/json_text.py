"""JSON text for the database's JSON columns and intake's bodies, by orjson where it gives what the standard
library gives, and by the standard library where it would not.

Measured under wrk at ~2,000 intake requests/s: `json.dumps` was 17% of the intake writer's thread (about
eight JSON columns a trigger, ~5 µs each; orjson takes ~0.4 µs), and reading a PagerDuty body 18.6 µs
where orjson takes 1.3. Both threads share one GIL, so that time was the whole process's.

What orjson does differently, and what is done about it:
- it writes compact text with UTF-8 instead of `\\uXXXX` escapes: every JSON column is written by `dumps`
  (the engines' serializer too, warroom.db), so the text is the same whichever way a row was written;
- it refuses integers past 64 bits, keys that are not strings and lone surrogates: those values are
  written by `json.dumps`, as before;
- it reads integers past 64 bits as floats, losing digits: `loads` hands any text with 19 digits in a row
  to `json.loads` (warroom.inbound does the same for bodies);
- it writes NaN and Infinity as null, where `json.dumps` wrote text that is not JSON (and that PostgreSQL
  refused); nothing inbound carries them (warroom.inbound refuses them).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_NINES = bytes.maketrans(b"0123456789", b"9" * 10)
_TEXT_NINES = str.maketrans("0123456789", "9" * 10)
LONG_NUMBER = "9" * 19  # past 18 digits an integer may not fit 64 bits
_LONG_NUMBER = LONG_NUMBER.encode()


def dumps(value: Any) -> str:
    """`value` as JSON text (see the module)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def has_long_number(data: str | bytes) -> bool:
    """Whether `data` holds 19 or more digits in a row (in a number or a string: either way, not orjson's)."""
    if isinstance(data, str):
        return LONG_NUMBER in data.translate(_TEXT_NINES)
    return _LONG_NUMBER in data.translate(_NINES)


def loads(data: str | bytes) -> Any:
    """JSON text read back (the engines' deserializer): orjson's reading, or `json.loads`'s where orjson
    would lose digits or refuses what the standard library reads (NaN written by older versions)."""
    if has_long_number(data):
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # the standard library decides: it reads or raises as it always did
