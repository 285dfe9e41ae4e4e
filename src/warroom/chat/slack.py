"""Calls to Slack's Web API through slack-sdk's AsyncWebClient, with its failures in the job's terms:
a 429 becomes RetryLater(Retry-After), anything else ChatCallFailed (retried with backoff)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from warroom.config import Settings
from warroom.jobs.domain import RetryLater

DEFAULT_RETRY_AFTER = 30.0


class ChatCallFailed(Exception):
    """A chat tool refused or did not answer; `code` is Slack's error code when it gave one."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def client(settings: Settings) -> AsyncWebClient:
    if settings.slack_bot_token is None:
        raise ChatCallFailed("Slack is not configured (WARROOM_SLACK_BOT_TOKEN)")
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=settings.chat_timeout_seconds,  # type: ignore[arg-type]  # aiohttp takes a float
        retry_handlers=[],  # retries are the job's: durable, visible, and honouring Retry-After
    )


async def call(method: str, request: Callable[..., Awaitable[Any]], **arguments: Any) -> dict[str, Any]:
    """Run one client method; its answer's data, or the failure as the worker understands it."""
    try:
        response = await request(**arguments)
    except SlackApiError as error:
        status = error.response.status_code
        if status == 429:
            header = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after")
            raise RetryLater(_seconds(header), f"{method}: Slack rate limit (429)") from None
        answer = error.response.data if isinstance(error.response.data, dict) else {}
        code = str(answer.get("error") or "")
        said = code if status == 200 else f"HTTP {status}" + (f" ({code})" if code else "")
        raise ChatCallFailed(f"{method}: {said}", code) from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise ChatCallFailed(f"{method}: {type(error).__name__} {error}".strip()) from None
    data: dict[str, Any] = response.data if isinstance(response.data, dict) else {}
    return data


def _seconds(header: str | None) -> float:
    try:
        return float(header) if header else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


def channel_url(channel_id: str) -> str:
    """A link that opens the channel in whichever Slack workspace the reader is signed in to."""
    return f"https://slack.com/app_redirect?channel={channel_id}"
