"""Delivering one message: first-class email (SMTP) and signed webhooks, and Apprise for the long tail
(Slack, Microsoft Teams, Telegram, ntfy, Pushover, Twilio SMS ... one URL each).

Every delivery carries the message's idempotency key (email Message-ID, webhook `Idempotency-Key`), so a
receiver can drop the duplicate a retry after a lost answer would produce. Webhooks go through the
caller's client (the worker keeps one, `Outbound`), so deliveries reuse kept-alive connections.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiohttp
import aiosmtplib
import apprise
import structlog

from warroom.config import Settings
from warroom.outbound import Outbound

CHANNELS = ("email", "webhook", "apprise", "log")
# The only headers a queued email may add: mailing-list ones (RFC 2369, RFC 8058 one-click unsubscribe) and
# RFC 3834's Auto-Submitted, so no caller can override From, To or Message-ID.
EMAIL_HEADERS = frozenset({"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "Auto-Submitted"})
log = structlog.get_logger("warroom.page")


class DeliveryFailed(Exception):
    """The channel refused or did not answer; the message's job retries with backoff."""


@dataclass(frozen=True)
class Delivery:
    channel: str
    address: str
    subject: str
    body: str
    idempotency_key: str
    ack_url: str
    alert_url: str
    # A webhook: its own JSON document, sent instead of the envelope. An email: {"headers": {...}}, extra
    # message headers from EMAIL_HEADERS (a bulk notice's List-Unsubscribe, say).
    payload: dict[str, Any] | None = None


def signature(secret: str, payload: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def _links(delivery: Delivery) -> str:
    """The acknowledge and details lines, leaving out those a message has not got (a test message)."""
    lines = [("Acknowledge", delivery.ack_url), ("Details", delivery.alert_url)]
    return "".join(f"{name}: {url}\n" for name, url in lines if url)


def message_id(idempotency_key: str) -> str:
    """The same Message-ID for every attempt at one message. Hashed: our keys hold colons, which RFC 5322
    does not allow in a msg-id (a receiver's parser cut `<msg:1:2@warroom>` down to `<msg`)."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@warroom>"


async def _email(delivery: Delivery, settings: Settings, _client: Outbound | None) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        settings.smtp_from,
        delivery.address,
        delivery.subject,
    )
    message["Message-ID"] = message_id(delivery.idempotency_key)
    # Every mail warroom sends is machine-made (RFC 3834): out-of-office replies must not answer a page.
    headers = {"Auto-Submitted": "auto-generated", **((delivery.payload or {}).get("headers") or {})}
    for name, value in headers.items():
        if name not in EMAIL_HEADERS:
            raise DeliveryFailed(
                f"email: header {name!r} may not be set; allowed: {', '.join(sorted(EMAIL_HEADERS))}"
            )
        message[name] = str(value)
    message.set_content(f"{delivery.body}\n\n{_links(delivery)}")
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            start_tls=settings.smtp_starttls,
            timeout=settings.notify_timeout_seconds,
        )
    except aiosmtplib.SMTPException as error:
        raise DeliveryFailed(f"SMTP: {error}") from error


async def _webhook(delivery: Delivery, settings: Settings, client: Outbound | None) -> None:
    document = delivery.payload or {
        "subject": delivery.subject,
        "body": delivery.body,
        "ack_url": delivery.ack_url,
        "alert_url": delivery.alert_url,
        "idempotency_key": delivery.idempotency_key,
    }
    payload = json.dumps(document).encode()
    headers = {
        "content-type": "application/json",
        "Idempotency-Key": delivery.idempotency_key,
        "X-Warroom-Signature": signature(settings.ensure_secret_key().get_secret_value(), payload),
    }
    own = client is None
    client = client or Outbound(settings)
    try:
        status, text = await client.post(delivery.address, content=payload, headers=headers)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DeliveryFailed(f"webhook: {type(error).__name__}: {error}") from error
    finally:
        if own:
            await client.aclose()
    if status >= 300:
        raise DeliveryFailed(f"webhook answered {status}: {text[:200]}")


async def _apprise(delivery: Delivery, settings: Settings, _client: Outbound | None) -> None:
    notifier = apprise.Apprise()
    if not notifier.add(delivery.address):
        raise DeliveryFailed("Apprise does not understand this URL")
    body = f"{delivery.body}\nAcknowledge: {delivery.ack_url}" if delivery.ack_url else delivery.body
    try:
        sent = await asyncio.wait_for(
            notifier.async_notify(body=body, title=delivery.subject), settings.notify_timeout_seconds
        )
    except TimeoutError as error:
        raise DeliveryFailed("Apprise timed out") from error
    if not sent:
        raise DeliveryFailed("Apprise reported the notification as not sent")


# Messages that are not pages, by their key's prefix: a stakeholder update is not someone being paged.
NOT_PAGES = {
    "update": "STAKEHOLDER_UPDATE", "update-due": "UPDATE_REMINDER", "test": "TEST_MESSAGE",
    "reminder": "ACTION_ITEM_REMINDER", "drill-due": "DRILL_REMINDER",
    "status-page-silent": "STATUS_PAGE_REMINDER", "leaver": "LEAVER_NOTICE", "intel": "INTEL_REPORT",
    "doctor": "INTEGRATION_FAILING",
}  # fmt: skip


async def _log(delivery: Delivery, settings: Settings, _client: Outbound | None) -> None:
    """The server's own log: for trying warroom out (the demo's people are paged here) and for tests."""
    event = NOT_PAGES.get(delivery.idempotency_key.split(":", 1)[0], "PAGE")
    log.warning(event, to=delivery.address, subject=delivery.subject, acknowledge=delivery.ack_url)


async def deliver(delivery: Delivery, settings: Settings, client: Outbound | None = None) -> None:
    """Send one message, or raise DeliveryFailed. Webhooks go through `client` (else one of their own)."""
    senders = {"email": _email, "webhook": _webhook, "apprise": _apprise, "log": _log}
    if delivery.channel not in senders:
        raise DeliveryFailed(f"unknown channel {delivery.channel!r}")
    await senders[delivery.channel](delivery, settings, client)
