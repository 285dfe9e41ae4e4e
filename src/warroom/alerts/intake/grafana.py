"""Grafana unified alerting webhook contact point (POST or PUT), payload version "1".

Grafana's body is Alertmanager's group notification plus `orgId`, `title`, `state`, `message` at the top and,
per alert, `silenceURL`, `dashboardURL`, `panelURL`, `imageURL`, `values` and `valueString`. Each alert maps
exactly as in `warroom.alerts.intake.alertmanager` (same dedup key, resolve rule, title, severity, labels and
flat `details`; the source of last resort is "grafana"), and the non-empty `silenceURL`, `dashboardURL`,
`panelURL` and `imageURL` are added to `links` after `generatorURL` and the runbook ("Silence", "Dashboard",
"Panel", "Image"). They, `values` and `valueString` also stay in `details` with the alert's other fields.

Signatures (`verify_signature`): with an HMAC secret set on the contact point, Grafana sends the lower-case
hex HMAC-SHA256 of the raw body in `X-Grafana-Alerting-Signature` (the header's default name). When the
contact point also names a timestamp header, Grafana puts Unix seconds there and signs
`timestamp + ":" + body` instead. Grafana gives that header no default name; warroom reads
`X-Grafana-Alerting-Signature-Timestamp`, so set the contact point's "Timestamp Header" to that. A request
carrying it is checked against the timestamped form and refused when its time is more than five minutes from
the request's; a request without it is checked against the body alone (an old timestamped request cannot be
replayed as body-only: its signature covers the timestamp).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from warroom.alerts.domain import AlertEventIn, IntakeRejected, Problem
from warroom.alerts.intake.alertmanager import alert_event, links_from, validate_alerts
from warroom.alerts.intake.base import IntakeRequest, json_object

SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
TIMESTAMP_HEADER = "X-Grafana-Alerting-Signature-Timestamp"
MAX_SKEW = timedelta(minutes=5)


def parse(request: IntakeRequest) -> list[AlertEventIn]:
    """One AlertEventIn per alert of the notification, in the order sent."""
    body = json_object(request)
    return [_event(alert, body, request.now) for alert in validate_alerts(body)]


def verify_signature(
    request: IntakeRequest,
    secret: str,
    *,
    signature_header: str = SIGNATURE_HEADER,
    timestamp_header: str = TIMESTAMP_HEADER,
    max_skew: timedelta = MAX_SKEW,
) -> None:
    """Return if the request bears Grafana's HMAC-SHA256 signature made with `secret`; else IntakeRejected."""
    if not secret:
        raise ValueError("an empty secret verifies nothing")
    signature = request.headers.get(signature_header.lower(), "").strip()
    if not signature:
        raise IntakeRejected([Problem(signature_header, "is missing; this integration requires signatures")])
    timestamp = request.headers.get(timestamp_header.lower())
    signed = request.body
    if timestamp is not None:
        problem = _timestamp_problem(timestamp.strip(), request.now, max_skew)
        if problem:
            raise IntakeRejected([Problem(timestamp_header, problem)])
        signed = timestamp.strip().encode() + b":" + request.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise IntakeRejected(
            [Problem(signature_header, "does not match the body signed with the integration's secret")]
        )


def _event(alert: dict[str, Any], body: dict[str, Any], now: datetime) -> AlertEventIn:
    event = alert_event(alert, body, now=now, sender="grafana")
    extra = links_from(
        [
            ("Silence", alert.get("silenceURL")),
            ("Dashboard", alert.get("dashboardURL")),
            ("Panel", alert.get("panelURL")),
            ("Image", alert.get("imageURL")),
        ]
    )
    return replace(event, links=[*event.links, *extra])


def _timestamp_problem(value: str, now: datetime, max_skew: timedelta) -> str | None:
    if not value.isascii() or not value.isdigit() or len(value) > 11:
        return "must be Unix seconds"
    sent = datetime.fromtimestamp(int(value), tz=UTC)
    if abs(now - sent) > max_skew:
        return f"is more than {int(max_skew.total_seconds())} seconds from the server's time"
    return None
