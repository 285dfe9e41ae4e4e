"""Opsgenie Alert API v2: create (POST /v2/alerts) and acknowledge, unacknowledge, close, add note
(POST /v2/alerts/{identifier}/{action}?identifierType=id|alias|tiny).

Create (`parse_create`): `message` (required, at most 130 characters), `alias` (at most 512; the dedup key,
None when absent so the caller generates one from title, source and labels), `description` (15000),
`responders`, `visibleTo` (lists of objects), `actions`, `tags` (lists of strings), `details` (an object),
`entity` (512), `source` (100), `priority` P1..P5 (default P3), `user` (100), `note` (25000).

Mapping: title = message, description = description, severity = P1 critical, P2 error, P3 warning,
P4 and P5 info, raw_severity = the priority (also when defaulted), source = source, actor = user,
note = note, labels = {"tags": "a,b"} (tags joined by commas) and {"entity": entity}.

`details`: every body key except those copied as-is into an AlertEventIn field (`message`, `alias`,
`description`, `priority`, `source`, `user`, `note`), under Opsgenie's names: `details["details"]`,
`details["tags"]` (the list), `details["responders"]`, `details["visibleTo"]`, `details["actions"]`,
`details["entity"]` and any unknown key.

Actions (`parse_action`): an optional JSON body `{user, source, note}`; close is "resolve", notes is "note"
(and needs `note`). The dedup key is None: the route resolves the path's identifier. `details` keeps unknown
body keys. Problems carry Opsgenie's field names and messages in the style of its 422 answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from warroom.alerts.domain import Action, AlertEventIn, IntakeRejected, Problem, normalise_severity
from warroom.alerts.intake.base import IntakeRequest, json_object

PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
DEFAULT_PRIORITY = "P3"
IDENTIFIER_TYPES: tuple[Literal["id", "alias", "tiny"], ...] = ("id", "alias", "tiny")
CREATE_LIMITS = {
    "message": 130,
    "alias": 512,
    "description": 15000,
    "entity": 512,
    "source": 100,
    "user": 100,
    "note": 25000,
}
ACTION_LIMITS = {"user": 100, "source": 100, "note": 25000}
MAPPED_KEYS = frozenset({"message", "alias", "description", "priority", "source", "user", "note"})
ACTIONS: dict[str, Action] = {
    "acknowledge": "acknowledge",
    "unacknowledge": "unacknowledge",
    "close": "resolve",
    "notes": "note",
}


def parse_create(request: IntakeRequest) -> AlertEventIn:
    """A trigger from a create-alert request, or IntakeRejected listing every problem."""
    body = json_object(request)
    problems = _limited_strings(body, CREATE_LIMITS)
    if _blank(body.get("message")):
        problems.insert(0, Problem("message", "Message can not be empty."))
    priority = DEFAULT_PRIORITY if body.get("priority") is None else body["priority"]
    if priority not in PRIORITIES:
        problems.append(Problem("priority", f"Priority should be one of {', '.join(PRIORITIES)}."))
    problems += _list_of(body, "tags", str) + _list_of(body, "actions", str)
    problems += _list_of(body, "responders", dict) + _list_of(body, "visibleTo", dict)
    if body.get("details") is not None and not isinstance(body["details"], dict):
        problems.append(Problem("details", "Details should be an object of keys to values."))
    if problems:
        raise IntakeRejected(problems)
    return AlertEventIn(
        action="trigger",
        dedup_key=_string(body, "alias"),
        title=body["message"],
        description=_string(body, "description") or "",
        severity=normalise_severity(priority),
        raw_severity=priority,
        source=_string(body, "source") or "",
        labels=_labels(body),
        details={key: value for key, value in body.items() if key not in MAPPED_KEYS},
        note=_string(body, "note"),
        actor=_string(body, "user"),
    )


def parse_action(
    request: IntakeRequest, action: Literal["acknowledge", "unacknowledge", "close", "notes"]
) -> AlertEventIn:
    """An acknowledge, unacknowledge, resolve (close) or note (notes) on the alert the route identifies."""
    if action not in ACTIONS:
        raise ValueError(f"unknown Opsgenie alert action {action!r}")
    body = json_object(request) if request.body.strip() else {}
    problems = _limited_strings(body, ACTION_LIMITS)
    if action == "notes" and _blank(body.get("note")):
        problems.insert(0, Problem("note", "Note can not be empty."))
    if problems:
        raise IntakeRejected(problems)
    return AlertEventIn(
        action=ACTIONS[action],
        dedup_key=None,
        source=_string(body, "source") or "",
        details={key: value for key, value in body.items() if key not in ACTION_LIMITS},
        note=_string(body, "note"),
        actor=_string(body, "user"),
    )


def identifier_type(query_value: str | None) -> Literal["id", "alias", "tiny"]:
    """The `identifierType` query parameter: "id" when absent; IntakeRejected when not id, alias or tiny."""
    value = (query_value or "").strip().lower() or "id"
    for known in IDENTIFIER_TYPES:
        if value == known:
            return known
    allowed = ", ".join(IDENTIFIER_TYPES)
    raise IntakeRejected(
        [Problem("identifierType", f"Invalid identifierType [{query_value}]. Possible values are {allowed}.")]
    )


def _labels(body: Mapping[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = {}
    tags = [tag.strip() for tag in body.get("tags") or [] if tag.strip()]
    if tags:
        labels["tags"] = ",".join(tags)
    entity = _string(body, "entity")
    if entity:
        labels["entity"] = entity
    return labels


def _limited_strings(body: Mapping[str, Any], limits: Mapping[str, int]) -> list[Problem]:
    problems: list[Problem] = []
    for key, limit in limits.items():
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(Problem(key, f"{key.capitalize()} should be a string."))
        elif len(value) > limit:
            problems.append(Problem(key, f"{key.capitalize()} can not be longer than {limit} characters."))
    return problems


def _list_of(body: Mapping[str, Any], key: str, kind: type) -> list[Problem]:
    value = body.get(key)
    if value is None:
        return []
    what = "strings" if kind is str else "objects"
    if not isinstance(value, list) or not all(isinstance(item, kind) for item in value):
        return [Problem(key, f"{key[0].upper()}{key[1:]} should be a list of {what}.")]
    return []


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _string(body: Mapping[str, Any], key: str) -> str | None:
    """The value at `key` if it is a non-blank string."""
    value = body.get(key)
    return value if isinstance(value, str) and value.strip() else None


UPDATES = {"message": 130, "description": 15000, "priority": 2}


def parse_update(request: IntakeRequest, field: str) -> AlertEventIn:
    """PUT /v2/alerts/{id}/message|description|priority: an "update" of that one field of the open alert.

    The changed field is named in `details["updated"]`, so the store changes only that column.
    """
    if field not in UPDATES:
        raise ValueError(f"unknown Opsgenie alert update {field!r}")
    body = json_object(request)
    value = body.get(field)
    if _blank(value) or not isinstance(value, str):
        raise IntakeRejected([Problem(field, f"{field.capitalize()} can not be empty.")])
    if field == "priority" and value not in PRIORITIES:
        raise IntakeRejected([Problem("priority", f"Priority should be one of {', '.join(PRIORITIES)}.")])
    if len(value) > UPDATES[field]:
        raise IntakeRejected(
            [Problem(field, f"{field.capitalize()} can not be longer than {UPDATES[field]}.")]
        )
    return AlertEventIn(
        action="update",
        dedup_key=None,
        title=value if field == "message" else "",
        description=value if field == "description" else "",
        severity=normalise_severity(value) if field == "priority" else "error",
        raw_severity=value if field == "priority" else None,
        details={"updated": field},
    )
