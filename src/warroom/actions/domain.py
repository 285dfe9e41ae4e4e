"""The signed-webhook contract of playbook actions. Pure.

A call is a POST of a JSON body with two headers: `X-Warroom-Timestamp` (Unix seconds) and
`X-Warroom-Signature: sha256=<hex>`, the HMAC-SHA256 of "<timestamp>.<body>" under WARROOM_ACTION_SECRET (the
scheme Slack and Stripe use): the receiver recomputes it, compares in constant time, and refuses a timestamp
more than five minutes old, so a captured call cannot be replayed later. `id` in the body is the run's id:
a call repeated after a lost answer carries the same one, so the receiver can do it once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE_HEADER = "X-Warroom-Signature"
TIMESTAMP_HEADER = "X-Warroom-Timestamp"
MAX_AGE_SECONDS = 300
# What the timeline and the page keep of an answer: enough to see what the automation said.
ANSWER_LIMIT = 2_000


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(secret: str, headers: dict[str, str], body: bytes, now: int) -> bool:
    """What a receiver does (and what the tests' sink does): the signature matches and is fresh."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    if not stamp.isdigit() or abs(now - int(stamp)) > MAX_AGE_SECONDS:
        return False
    expected = signature(secret, int(stamp), body)
    return hmac.compare_digest(expected, lowered.get(SIGNATURE_HEADER.lower(), ""))
