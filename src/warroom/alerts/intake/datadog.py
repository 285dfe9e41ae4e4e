"""Datadog Webhooks integration: the payload is the user's own template, sent as JSON or, with "Encode as
form", as application/x-www-form-urlencoded; either way its values are strings.

Configure the webhook's payload as (every key optional but one of the three dedup keys):

    {
      "id": "$ID",
      "title": "$EVENT_TITLE",
      "body": "$EVENT_MSG",
      "alert_id": "$ALERT_ID",
      "alert_cycle_key": "$ALERT_CYCLE_KEY",
      "alert_transition": "$ALERT_TRANSITION",
      "alert_type": "$ALERT_TYPE",
      "alert_priority": "$ALERT_PRIORITY",
      "priority": "$PRIORITY",
      "aggregate": "$AGGREG_KEY",
      "link": "$LINK",
      "tags": "$TAGS",
      "hostname": "$HOSTNAME",
      "date": "$DATE",
      "org": {"id": "$ORG_ID", "name": "$ORG_NAME"}
    }

Mapping:

- dedup_key: `alert_cycle_key` (one trigger-to-recovery cycle of a monitor), else `aggregate`, else `alert_id`
  (the monitor); one of them is required.
- action: "resolve" when `alert_transition` is "Recovered" (any case) or `alert_type` is "success";
  otherwise "trigger" (Triggered, Re-Triggered, Warn, No Data, Renotify...).
- severity: `alert_priority` (P1 critical, P2 error, P3 warning, P4/P5 info), else `alert_type`
  (error, warning, info; "success" gives info); raw_severity keeps the value used.
- title: `title` (at most 1024 characters), else `Datadog monitor <alert_id>`; description: `body`.
- source: `hostname`, else "datadog". group_key: `aggregate`. links: `link` ("Datadog").
- labels: `tags` "a:b,c" -> {"a": "b", "c": ""}; a key given twice keeps its values comma-joined.
- occurred_at: `date`, epoch milliseconds as `$DATE` sends (ten digits or fewer are read as seconds, as
  `$DATE_POSIX` sends), or ISO 8601.
- details: the whole body as received (form bodies give a flat object of strings).

Empty values and values Datadog left as the bare variable name (e.g. "$ALERT_CYCLE_KEY") count as absent.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from warroom.alerts.domain import AlertEventIn, IntakeRejected, Problem, normalise_severity
from warroom.alerts.intake.base import IntakeRequest, form_or_json

TITLE_MAX = 1024
UNRENDERED = re.compile(r"\$[A-Z][A-Z0-9_]*")
SECONDS_DIGITS = 10


def parse(request: IntakeRequest) -> AlertEventIn:
    """One event from a Datadog webhook, or IntakeRejected listing every problem."""
    body = form_or_json(request)
    problems: list[Problem] = []
    dedup_key = _value(body, "alert_cycle_key") or _value(body, "aggregate") or _value(body, "alert_id")
    if dedup_key is None:
        message = "one of alert_cycle_key ($ALERT_CYCLE_KEY), aggregate ($AGGREG_KEY) or alert_id ($ALERT_ID)"
        problems.append(Problem("alert_cycle_key", f"is missing: {message} is required"))
    occurred_at = None
    try:
        occurred_at = parse_date(_value(body, "date"))
    except ValueError:
        problems.append(Problem("date", "must be epoch milliseconds ($DATE) or an ISO 8601 time"))
    if problems or dedup_key is None:
        raise IntakeRejected(problems)
    resolved = _is_resolved(body)
    raw_severity = _value(body, "alert_priority") or _value(body, "alert_type")
    link = _value(body, "link")
    title = _value(body, "title") or f"Datadog monitor {_value(body, 'alert_id') or dedup_key}"
    return AlertEventIn(
        action="resolve" if resolved else "trigger",
        dedup_key=dedup_key,
        title=title[:TITLE_MAX],
        description=_value(body, "body") or "",
        severity=normalise_severity(raw_severity, default="info" if resolved else "error"),
        raw_severity=raw_severity,
        source=_value(body, "hostname") or "datadog",
        group_key=_value(body, "aggregate"),
        labels=parse_tags(_value(body, "tags") or ""),
        links=[{"href": link, "text": "Datadog"}] if link else [],
        details=dict(body),
        occurred_at=occurred_at,
    )


def parse_tags(tags: str) -> dict[str, str]:
    """Datadog's comma-separated tags as labels: "env:prod,canary" -> {"env": "prod", "canary": ""}."""
    values: dict[str, list[str]] = defaultdict(list)
    for tag in tags.split(","):
        key, _, value = tag.strip().partition(":")
        if key.strip() and value.strip() not in values[key.strip()]:
            values[key.strip()].append(value.strip())
    return {key: ",".join(item for item in items if item) for key, items in values.items()}


def parse_date(value: str | None) -> datetime | None:
    """Epoch milliseconds (or seconds, for ten digits or fewer) or ISO 8601; None when absent.

    Raises ValueError for anything else.
    """
    if value is None:
        return None
    try:
        if value.isascii() and value.isdigit():
            number = int(value)
            seconds = number if len(value) <= SECONDS_DIGITS else number / 1000
            return datetime.fromtimestamp(seconds, tz=UTC)
        parsed = datetime.fromisoformat(value)
    except (OverflowError, OSError) as error:
        raise ValueError(str(error)) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _is_resolved(body: Mapping[str, Any]) -> bool:
    transition = (_value(body, "alert_transition") or "").lower()
    alert_type = (_value(body, "alert_type") or "").lower()
    return transition == "recovered" or alert_type == "success"


def _value(body: Mapping[str, Any], key: str) -> str | None:
    """The value at `key` as stripped text; None when absent, empty, unrendered or not a scalar."""
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    if not text or UNRENDERED.fullmatch(text):
        return None
    return text
