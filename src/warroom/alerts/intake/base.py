"""The request as adapters see it: bytes and headers, plus the integration's settings and the time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from warroom.alerts.domain import IntakeRejected, Problem
from warroom.inbound import InboundRejected, clean_text, parse_json


@dataclass(frozen=True)
class IntakeRequest:
    body: bytes
    content_type: str
    now: datetime
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    integration_config: Mapping[str, Any] = field(default_factory=dict)


def json_object(request: IntakeRequest, *, what: str = "body") -> dict[str, Any]:
    """The body as a JSON object, or IntakeRejected naming why not."""
    try:
        value = parse_json(request.body)
    except InboundRejected as error:
        raise IntakeRejected([Problem(what, str(error))]) from None
    if not isinstance(value, dict):
        raise IntakeRejected([Problem(what, "must be a JSON object")])
    return value


def form_or_json(request: IntakeRequest) -> dict[str, Any]:
    """JSON, or application/x-www-form-urlencoded (Datadog can send either)."""
    if "application/x-www-form-urlencoded" in request.content_type:
        try:
            pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
            return {clean_text(name): clean_text(value) for name, value in pairs}
        except UnicodeDecodeError:
            raise IntakeRejected([Problem("body", "is not UTF-8")]) from None
    return json_object(request)
