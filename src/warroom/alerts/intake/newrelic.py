"""New Relic workflow webhook destinations, with the workflow's default payload template:

    {"id": issueId, "issueUrl": issuePageUrl, "title": annotations.title[0], "priority": priority,
     "impactedEntities": entitiesData.names, "totalIncidents": totalIncidents, "state": state,
     "trigger": triggerEvent, "isCorrelated": isCorrelated, "createdAt": createdAt (epoch ms),
     "updatedAt": updatedAt, "sources": accumulations.source, "alertPolicyNames": accumulations.policyName,
     "alertConditionNames": accumulations.conditionName, "workflowName": workflowName}

Custom templates may add `issueId` (preferred over `id`), `description`, `acknowledgedBy`, `accumulations`...

Mapping:

- dedup_key: `issueId`, else `id`; required.
- action: state ACTIVATED or CREATED -> trigger, ACKNOWLEDGED -> acknowledge, CLOSED -> resolve; any other
  state is refused (New Relic then shows the delivery as failed instead of it vanishing).
- severity: priority CRITICAL critical, HIGH error, MEDIUM warning, LOW info (other values: error);
  raw_severity keeps the priority.
- title: `title`, a list joined with "; " (at most 1024 characters), else "New Relic issue <id>";
  description: `description` when the template sends one.
- source: the first impacted entity, else "newrelic". group_key: `workflowName`, else the first policy name.
- labels: `impactedEntities`, `alertPolicyNames`, `alertConditionNames` and `sources`, each comma-joined
  when it is a string or a list of strings. links: `issueUrl` ("New Relic issue").
- occurred_at: `createdAt` (epoch milliseconds). actor: `acknowledgedBy` when a string.
- details: the whole body as received (so `accumulations` and every other key survive).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from warroom.alerts.domain import Action, AlertEventIn, IntakeRejected, Problem, normalise_severity
from warroom.alerts.intake.base import IntakeRequest, json_object

TITLE_MAX = 1024
STATES: dict[str, Action] = {
    "ACTIVATED": "trigger",
    "CREATED": "trigger",
    "ACKNOWLEDGED": "acknowledge",
    "CLOSED": "resolve",
}
LABEL_KEYS = ("impactedEntities", "alertPolicyNames", "alertConditionNames", "sources")


def parse(request: IntakeRequest) -> AlertEventIn:
    """One event from a New Relic workflow notification, or IntakeRejected listing every problem."""
    body = json_object(request)
    problems: list[Problem] = []
    dedup_key = _scalar(body.get("issueId")) or _scalar(body.get("id"))
    if dedup_key is None:
        problems.append(Problem("issueId", "is missing: send the issue id as `issueId` or `id`"))
    state = body.get("state")
    action = STATES.get(state) if isinstance(state, str) else None
    if action is None:
        problems.append(Problem("state", f"must be one of {', '.join(STATES)}"))
    occurred_at = None
    try:
        occurred_at = epoch_millis(body.get("createdAt"))
    except ValueError:
        problems.append(Problem("createdAt", "must be epoch milliseconds"))
    if problems or dedup_key is None or action is None:
        raise IntakeRejected(problems)
    priority = _scalar(body.get("priority"))
    labels = {key: joined for key in LABEL_KEYS if (joined := _joined(body.get(key)))}
    return AlertEventIn(
        action=action,
        dedup_key=dedup_key,
        title=(_title(body.get("title")) or f"New Relic issue {dedup_key}")[:TITLE_MAX],
        description=_scalar(body.get("description")) or "",
        severity=normalise_severity(priority),
        raw_severity=priority,
        source=_first(body.get("impactedEntities")) or "newrelic",
        group_key=_scalar(body.get("workflowName")) or _first(body.get("alertPolicyNames")),
        labels=labels,
        links=_links(body.get("issueUrl")),
        details=dict(body),
        occurred_at=occurred_at,
        actor=_scalar(body.get("acknowledgedBy")),
    )


def epoch_millis(value: Any) -> datetime | None:
    """Epoch milliseconds (a number or a string of digits) as a UTC time; None when absent.

    Raises ValueError for anything else.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, str):
        if not (value.strip().isascii() and value.strip().isdigit()):
            raise ValueError("not a number")
        value = int(value.strip())
    if not isinstance(value, int | float):
        raise ValueError("not a number")
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError) as error:
        raise ValueError(str(error)) from None


def _title(value: Any) -> str | None:
    if isinstance(value, list):
        value = "; ".join(item.strip() for item in value if isinstance(item, str) and item.strip())
    return _scalar(value)


def _joined(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return ",".join(value)
    return None


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        return next((item.strip() for item in value if isinstance(item, str) and item.strip()), None)
    return _scalar(value)


def _links(value: Any) -> list[dict[str, str]]:
    url = _scalar(value)
    return [{"href": url, "text": "New Relic issue"}] if url else []


def _scalar(value: Any) -> str | None:
    """Non-blank strings stripped, numbers as text; None otherwise."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
