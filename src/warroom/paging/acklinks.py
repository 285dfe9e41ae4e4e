"""Signed, expiring one-click acknowledge links: `<escalation id>.<user id>.<expiry>.<signature>`.

HMAC-SHA256 with the server's secret key; the link only acknowledges the escalation it names, on behalf of
the person it was sent to, and only until it expires. Opening it shows a confirmation: a GET must not
acknowledge, because chat apps and mail scanners open links to preview them.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

LIFETIME = timedelta(hours=24)


class BadLink(Exception):
    pass


def _mac(secret: str, escalation_id: int, user_id: int, expires: int) -> str:
    signed = f"ack:{escalation_id}:{user_id}:{expires}".encode()
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()[:32]


def make_token(secret: str, escalation_id: int, user_id: int, now: datetime) -> str:
    expires = int((now + LIFETIME).timestamp())
    return f"{escalation_id}.{user_id}.{expires}.{_mac(secret, escalation_id, user_id, expires)}"


def ack_link(base_url: str, secret: str, escalation_id: int, user_id: int, now: datetime) -> str:
    """The link itself. Minted when a message is sent and never stored: a row anyone can read (a job's
    payload, a message's body) must not hold a credential that acknowledges as someone else."""
    return f"{base_url}/ack/{make_token(secret, escalation_id, user_id, now)}"


def read_token(secret: str, token: str, now: datetime) -> tuple[int, int]:
    """(escalation id, user id) the token names, or BadLink."""
    try:
        escalation, user, expires, mac = token.split(".")
        escalation_id, user_id, expiry = int(escalation), int(user), int(expires)
    except ValueError:
        raise BadLink("this acknowledge link is malformed") from None
    if not hmac.compare_digest(mac, _mac(secret, escalation_id, user_id, expiry)):
        raise BadLink("this acknowledge link is not valid")
    if now.timestamp() > expiry:
        raise BadLink("this acknowledge link has expired; acknowledge in warroom instead")
    return escalation_id, user_id
