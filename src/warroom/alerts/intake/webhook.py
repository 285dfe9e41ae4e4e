"""Generic JSON webhook: the integration's config says, in JMESPath, where each field is in the sender's body.

Config (every key optional):

    {"title": "title", "dedup_key": "id", "severity": "...", "status": "...", "description": "...",
     "source": "...", "group_key": "...", "labels": "...",
     "resolved_values": ["resolved", "ok"], "acknowledged_values": ["acknowledged"]}

Absent or null keys take defaults: the two value lists shown, and the expressions `title`, `id`,
`status`, `severity`, `description` and `source` (a field of that name at the top of the body);
`group_key` and `labels` have none (they stay empty). `compile_config` checks a config (the integrations API
calls it on create and update) and raises ValueError naming every bad key with JMESPath's own error.

Mapping: each expression is evaluated on the body. Results that are not strings become text (numbers and
booleans as JSON, objects and lists as compact JSON).

- title: required (a missing or blank result is refused), at most 1024 characters.
- dedup_key: None when the result is missing or blank (the caller then generates one).
- status: compared, trimmed and case-insensitively, with `resolved_values` (-> "resolve") then
  `acknowledged_values` (-> "acknowledge"); anything else, or no status, is "trigger".
- severity: `normalise_severity` of the result (default "error"); raw_severity keeps the result.
- labels: the expression must give an object (or nothing); its values become text, nulls are dropped.
- details: the whole body as received, so the full title and every unknown field survive.

`parse` compiles the stored config on each call (JMESPath caches parsed expressions); a stored config that no
longer compiles raises ValueError: the fault is the integration's, not the sender's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from warroom.alerts.domain import Action, AlertEventIn, IntakeRejected, Problem, normalise_severity
from warroom.alerts.intake.base import IntakeRequest, json_object

TITLE_MAX = 1024
EXPRESSION_KEYS = ("title", "dedup_key", "severity", "status", "description", "source", "group_key", "labels")
DEFAULT_EXPRESSIONS = {
    "title": "title",
    "dedup_key": "id",
    "status": "status",
    "severity": "severity",
    "description": "description",
    "source": "source",
}
DEFAULT_VALUES: dict[str, tuple[str, ...]] = {
    "resolved_values": ("resolved", "ok"),
    "acknowledged_values": ("acknowledged",),
}


@dataclass(frozen=True)
class CompiledWebhookConfig:
    """Compiled expressions (only those in use) and the lower-cased status values."""

    expressions: Mapping[str, ParsedResult]
    resolved_values: frozenset[str]
    acknowledged_values: frozenset[str]


def compile_config(config: Mapping[str, Any]) -> CompiledWebhookConfig:
    """The config compiled, or ValueError naming every bad key (with JMESPath's error for expressions)."""
    errors: list[str] = []
    unknown = sorted(set(config) - set(EXPRESSION_KEYS) - set(DEFAULT_VALUES))
    if unknown:
        allowed = ", ".join([*EXPRESSION_KEYS, *DEFAULT_VALUES])
        errors.append(f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {allowed}")
    expressions: dict[str, ParsedResult] = {}
    for key in EXPRESSION_KEYS:
        source = config.get(key)
        if source is None:
            source = DEFAULT_EXPRESSIONS.get(key)
        if source is None:
            continue
        if not isinstance(source, str):
            errors.append(f"{key}: must be a JMESPath expression (a string)")
            continue
        try:
            expressions[key] = jmespath.compile(source)
        except JMESPathError as error:
            errors.append(f"{key}: invalid JMESPath expression {source!r}: {error}")
    values = {key: _values(config, key, errors) for key in DEFAULT_VALUES}
    if errors:
        raise ValueError("; ".join(errors))
    return CompiledWebhookConfig(expressions, values["resolved_values"], values["acknowledged_values"])


def parse(request: IntakeRequest) -> AlertEventIn:
    """One event from the body, as the integration's config maps it; IntakeRejected lists every problem."""
    config = compile_config(request.integration_config)
    body = json_object(request)
    problems: list[Problem] = []
    found = {key: _evaluate(config, key, body, problems) for key in config.expressions}
    title = _text(found.get("title"))
    if title is None and "title" not in {p.field for p in problems}:
        problems.append(Problem("title", f"{_expression(config, 'title')} found no title in the body"))
    labels = found.get("labels")
    if labels is not None and not isinstance(labels, dict):
        problems.append(Problem("labels", f"{_expression(config, 'labels')} must give an object"))
    if problems or title is None:
        raise IntakeRejected(problems)
    raw_severity = _text(found.get("severity"))
    return AlertEventIn(
        action=_action(_text(found.get("status")), config),
        dedup_key=_text(found.get("dedup_key")),
        title=title[:TITLE_MAX],
        description=_text(found.get("description")) or "",
        severity=normalise_severity(raw_severity),
        raw_severity=raw_severity,
        source=_text(found.get("source")) or "",
        group_key=_text(found.get("group_key")),
        labels={str(k): _text(v) or "" for k, v in (labels or {}).items() if v is not None},
        details=body,
    )


def _values(config: Mapping[str, Any], key: str, errors: list[str]) -> frozenset[str]:
    raw = config.get(key)
    if raw is None:
        raw = DEFAULT_VALUES[key]
    if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
        errors.append(f"{key}: must be a list of strings")
        return frozenset()
    return frozenset(item.strip().lower() for item in raw)


def _evaluate(config: CompiledWebhookConfig, key: str, body: Any, problems: list[Problem]) -> Any:
    try:
        return config.expressions[key].search(body)
    except JMESPathError as error:
        problems.append(Problem(key, f"{_expression(config, key)} failed on this body: {error}"))
        return None


def _action(status: str | None, config: CompiledWebhookConfig) -> Action:
    value = (status or "").lower()
    if not value:
        return "trigger"
    if value in config.resolved_values:
        return "resolve"
    if value in config.acknowledged_values:
        return "acknowledge"
    return "trigger"


def _expression(config: CompiledWebhookConfig, key: str) -> str:
    compiled = config.expressions.get(key)
    return f"expression {compiled.expression!r}" if compiled else "no expression"


def _text(value: Any) -> str | None:
    """A result as stripped text: None for null or blank; JSON for anything not a string."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text.strip() or None
