"""Rule conditions and their matching: pure functions over an alert's fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

OPS = ("equals", "not_equals", "contains", "matches", "in", "exists")
FIELDS = ("severity", "source", "title", "description", "dedup_key", "group_key", "integration")
LABEL_PREFIX = "labels."

# An alert's severity decides an incident's unless the rule names one.
SEVERITY_TO_INCIDENT = {"critical": "P1", "error": "P2", "warning": "P3", "info": "P4"}


def condition_problems(conditions: Any) -> list[str]:
    """Everything wrong with a rule's conditions, for a 422 that names each one."""
    if not isinstance(conditions, list):
        return ["conditions must be a list"]
    problems = []
    for index, condition in enumerate(conditions):
        where = f"conditions[{index}]"
        if not isinstance(condition, dict):
            problems.append(f"{where} must be an object with field, op and value")
            continue
        field, op, value = condition.get("field"), condition.get("op", "equals"), condition.get("value")
        if not isinstance(field, str) or not (field in FIELDS or field.startswith(LABEL_PREFIX)):
            problems.append(f"{where}.field must be one of {', '.join(FIELDS)} or labels.<name>")
        if op not in OPS:
            problems.append(f"{where}.op must be one of {', '.join(OPS)}")
        elif op == "in" and not isinstance(value, list):
            problems.append(f"{where}.value must be a list for 'in'")
        elif op == "matches":
            try:
                re.compile(str(value))
            except re.error as error:
                problems.append(f"{where}.value is not a valid regular expression ({error})")
    return problems


def field_value(alert: Mapping[str, Any], field: str) -> str | None:
    if field.startswith(LABEL_PREFIX):
        value = (alert.get("labels") or {}).get(field[len(LABEL_PREFIX) :])
    else:
        value = alert.get(field)
    return None if value is None else str(value)


def condition_holds(alert: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
    actual = field_value(alert, str(condition["field"]))
    op: str = str(condition.get("op", "equals"))
    wanted = condition.get("value")
    if op == "exists":
        return actual is not None
    if actual is None:
        return op == "not_equals"
    if op == "equals":
        return actual == str(wanted)
    if op == "not_equals":
        return actual != str(wanted)
    if op == "contains":
        return str(wanted).lower() in actual.lower()
    if op == "in":
        return actual in {str(v) for v in wanted or []}
    return re.search(str(wanted), actual) is not None


def matches(alert: Mapping[str, Any], conditions: list[dict[str, Any]]) -> bool:
    """All conditions hold (an empty list matches everything)."""
    return all(condition_holds(alert, c) for c in conditions)
