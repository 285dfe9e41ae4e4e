"""The operator commands' HTTP client of a running server (WARROOM_URL, WARROOM_TOKEN)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"


class ApiFailure(Exception):
    """The server refused, or could not be reached; the message is for the person at the terminal."""


def client() -> httpx.Client:
    token = os.environ.get("WARROOM_TOKEN", "")
    if not token:
        raise ApiFailure("set WARROOM_TOKEN to an API token (warroom token create --email you@x --name cli)")
    url = os.environ.get("WARROOM_URL", DEFAULT_URL).rstrip("/")
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0)


def call(method: str, path: str, **kwargs: Any) -> Any:
    try:
        with client() as http:
            response = http.request(method, path, **kwargs)
    except httpx.InvalidURL as error:
        url = os.environ.get("WARROOM_URL", DEFAULT_URL)
        raise ApiFailure(f"WARROOM_URL {url!r} is not a valid URL ({error})") from None
    except httpx.TransportError as error:
        url = os.environ.get("WARROOM_URL", DEFAULT_URL)
        raise ApiFailure(f"cannot reach warroom at {url} ({type(error).__name__}: {error})") from None
    if response.is_error:
        raise ApiFailure(problem_line(response))
    return response.json() if response.content else None  # 204 No Content has no body


def problem_line(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.reason_phrase}"
    detail = body.get("detail") if isinstance(body, dict) else None
    return f"{response.status_code} {detail or response.reason_phrase}"


def when(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")
