"""Schemathesis hooks for tests/e2e/test_openapi_fuzz.py, loaded by `st run` through SCHEMATHESIS_HOOKS.

Issue #13 input hardening (another branch) makes hostile values a clean 4xx: integers past 64 bits, digits
that are not ASCII (`³`), NUL, lone surrogates, NaN and infinities, deep nesting. Until it lands, a server
error on a request carrying one of those is left out of the result here, and nothing else is: every other
5xx, and every undocumented status or content type, still fails the run. Each one left out is written to
the file named by WARROOM_FUZZ_EXCLUDED, so the test can say how many there were.
REMOVE this filter (and the SCHEMATHESIS_HOOKS setting) once #13 input hardening is merged.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import schemathesis
from schemathesis.core import NotSet

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
NESTING_LIMIT = 32
_ASCII_DIGITS = re.compile(r"[0-9]+")


def hostile_text(text: str) -> bool:
    if "\x00" in text or any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        return True
    if any(char.isdigit() and not char.isascii() for char in text):
        return True
    return any(int(run) > INT64_MAX for run in _ASCII_DIGITS.findall(text))


def hostile(value: Any, depth: int = 0) -> bool:
    """Whether `value` holds one of the inputs #13 input hardening refuses (see the module's docstring)."""
    if depth > NESTING_LIMIT:
        return True
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return not INT64_MIN <= value <= INT64_MAX
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):
        return hostile_text(value)
    if isinstance(value, bytes):
        return hostile_text(value.decode("utf-8", errors="ignore"))
    if isinstance(value, Mapping):
        return any(hostile(k, depth + 1) or hostile(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(hostile(item, depth + 1) for item in value)
    return False


def carries_hostile_input(case: Any) -> bool:
    # Path parameters may arrive percent-encoded (`%C2%B3` for `³`): judge the text the server decodes.
    path = {name: unquote(v) if isinstance(v, str) else v for name, v in (case.path_parameters or {}).items()}
    parts = (path, case.query, case.body)
    return any(hostile(part) for part in parts if not isinstance(part, NotSet))


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a server error on a request with hostile input (#13 input hardening)."""
    if response is None or response.status_code < 500 or not carries_hostile_input(case):
        return True
    record = os.environ.get("WARROOM_FUZZ_EXCLUDED")
    if record:
        with open(record, "a", encoding="utf-8") as excluded:
            line = f"{case.method} {case.formatted_path} -> {response.status_code}: {failure.title}"
            excluded.write(line + "\n")
    return False
