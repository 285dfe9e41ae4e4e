"""parse_json reads most bodies with orjson: it must answer exactly what the standard library's reading
(parsed_by_json) answers, value for value and refusal for refusal, for every input, hostile or not."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from warroom import json_text
from warroom.inbound import MAX_DEPTH, InboundRejected, parse_json, parsed_by_json


def typed(value: Any) -> Any:
    """`value` with each number's type kept, so that 1 and 1.0 (equal in Python) compare as different."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, bool | int | float):
        return (type(value).__name__, repr(value))
    return value


def answer(data: bytes, int64: bool) -> tuple[str, Any]:
    try:
        return "value", typed(parse_json(data, int64=int64))
    except InboundRejected as error:
        return "refused", str(error)


def reference(data: bytes, int64: bool) -> tuple[str, Any]:
    try:
        return "value", typed(parsed_by_json(data, int64=int64))
    except InboundRejected as error:
        return "refused", str(error)


HOSTILE = [
    b"",
    b"   ",
    b"null",
    b"NaN",
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b'{"a": -Infinity}',
    b'{"a": 1e400}',
    b'{"a": -1e400}',
    b'{"a": 1e-400}',
    b'{"a": -0}',
    b'{"a": -0.0}',
    b'{"a": 1E5}',
    b'{"a": 0.1}',
    b'{"a": 123456789012345678}',
    b'{"a": 1234567890123456789}',
    b'{"a": 9223372036854775807}',
    b'{"a": 9223372036854775808}',
    b'{"a": -9223372036854775808}',
    b'{"a": -9223372036854775809}',
    b'{"a": 18446744073709551615}',
    b'{"a": 123456789012345678901234567890}',
    b'{"a": ' + b"7" * 5000 + b"}",
    b'{"a": "1234567890123456789012"}',
    b'{"a": "\\u0000", "\\u0000k": 1}',
    b'{"a": "x\\ud800y"}',
    b'{"a": "\\udc00"}',
    b'{"a": "\\ud83d\\ude00"}',
    b'{"a": "\xff"}',
    b'{"a": "\xed\xa0\x80"}',
    b'\xef\xbb\xbf{"a": 1}',
    b'{"a": "tab\there"}',
    b'{"a": 1,}',
    b"[1, 2,]",
    b'{"a": 1} x',
    b'{"a": 1, "a": 2}',
    b'{"a" 1}',
    b"'a'",
    b'"\\x41"',
    b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
    b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
    b'{"a": "' + b"[" * 40 + b'"}',
    b"[" * 1200 + b"]" * 1200,
    b"[" * 5000,
    b'{"\xc3\xa9": "\xf0\x9f\x98\x80"}',
]


@pytest.mark.parametrize("int64", [False, True])
@pytest.mark.parametrize("data", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_bodies_get_the_standard_librarys_answer(data: bytes, int64: bool) -> None:
    assert answer(data, int64) == reference(data, int64)


def test_the_corpus_reaches_both_readings() -> None:
    """The corpus above is not all refusals: orjson answers some of it, the standard library the rest."""
    answers = [answer(data, False)[0] for data in HOSTILE]
    assert answers.count("value") >= 15
    assert answers.count("refused") >= 15


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)  # NUL and lone surrogates too
VALUES = st.recursive(
    SCALARS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=40,
)


def nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


@settings(max_examples=400, deadline=None)
@given(value=VALUES, depth=st.integers(0, MAX_DEPTH + 3), ascii_only=st.booleans(), int64=st.booleans())
@example(value={"k": "\x00"}, depth=0, ascii_only=True, int64=False)
@example(value=[2**70], depth=0, ascii_only=True, int64=False)
@example(value=[2**63], depth=0, ascii_only=True, int64=True)
def test_any_json_text_gets_the_standard_librarys_answer(
    value: Any, depth: int, ascii_only: bool, int64: bool
) -> None:
    text = json.dumps(nested(value, depth), ensure_ascii=ascii_only)
    data = text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes bytes no UTF-8 reader takes
    assert answer(data, int64) == reference(data, int64)


@settings(max_examples=300, deadline=None)
@given(value=VALUES)
def test_json_columns_read_back_what_was_written(value: Any) -> None:
    written = json_text.dumps(value)
    read = json_text.loads(written)
    assert typed(read) == typed(json.loads(json.dumps(value)))


def test_json_columns_keep_what_orjson_cannot_write() -> None:
    """Integers past 64 bits, keys that are not strings and lone surrogates: written as json.dumps does."""
    assert json_text.loads(json_text.dumps({"n": 2**70})) == {"n": 2**70}
    assert json_text.dumps({1: "a"}) == '{"1": "a"}'
    assert json_text.dumps({"s": "\ud800"}) == '{"s": "\\ud800"}'
    assert json_text.dumps({"s": "é"}) == '{"s":"é"}'  # orjson's compact UTF-8 text otherwise


def test_json_columns_read_nan_written_by_older_versions() -> None:
    assert math.isnan(json_text.loads('{"x": NaN}')["x"])
    assert json_text.loads(b'{"x": 12345678901234567890123}') == {"x": 12345678901234567890123}
