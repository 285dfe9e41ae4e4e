"""A small fake of Slack's Web API on a loopback port, for tests and for trying warroom by hand.

It speaks the methods warroom calls with Slack's shapes ({"ok": true, ...}, or HTTP 200 with
{"ok": false, "error": "..."}), checks the bot token, records every call, and can be told to answer 429
with Retry-After, 500, or to hang. `response_url` posts (button answers) land under /response/.

    python -m tests.fakes.slack [--port 8090] [--user email=Name ...]

prints the URL and the settings to start warroom with, then every call it receives.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.http import serving

TOKEN = "xoxb-fake-token"
SCOPES = (  # every scope warroom asks for (README, "Chat war rooms")
    "channels:manage", "channels:read", "channels:history", "chat:write", "users:read",
    "users:read.email", "pins:read", "reactions:read", "commands",
)  # fmt: skip
NAME_RULE = re.compile(r"^[a-z0-9_-]{1,80}$")
Answer = tuple[int, dict[str, str], dict[str, Any]]


@dataclass
class Fault:
    status: int
    retry_after: int | None = None
    error: str = "internal_error"
    after: int = 0  # calls still to answer normally first


@dataclass
class FakeSlack:
    url: str = ""  # the Web API base, ending in /api/
    token: str = TOKEN
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # posts to a response_url
    hang_seconds: float = 0.0
    # What the bot token was granted, as Slack reports it in every answer's X-OAuth-Scopes header.
    scopes: tuple[str, ...] = SCOPES
    echo: Callable[[str], None] | None = None
    _faults: dict[str, list[Fault]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --- what tests set up and look at --------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self.url.removesuffix("/api/")

    def add_user(self, email: str, name: str) -> str:
        user_id = f"U{next(self._ids):07d}"
        handle = email.split("@")[0]
        self.users[user_id] = {
            "id": user_id, "name": handle, "real_name": name, "deleted": False, "is_bot": False,
            "profile": {"email": email, "real_name": name, "display_name": handle},
        }  # fmt: skip
        return user_id

    def fail(
        self,
        method: str,
        status: int = 500,
        *,
        times: int = 1,
        retry_after: int | None = None,
        after: int = 0,
    ) -> None:
        """After `after` good answers, the next `times` calls of `method` answer `status` (429 with
        Retry-After when given)."""
        error = "ratelimited" if status == 429 else "internal_error"
        faults = self._faults.setdefault(method, [])
        faults.extend(Fault(status, retry_after, error, after if n == 0 else 0) for n in range(times))

    def release(self) -> None:
        """End every hang at once (at shutdown)."""
        self._released.set()

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    def methods(self) -> list[str]:
        return [name for name, _ in self.calls]

    def channel_named(self, name: str) -> dict[str, Any]:
        return next(c for c in self.channels.values() if c["name"] == name)

    def say(self, channel_id: str, user_id: str, text: str, ts: str) -> dict[str, Any]:
        """A person's message in a channel (as if typed in Slack)."""
        message = {"type": "message", "user": user_id, "text": text, "ts": ts}
        self.channels[channel_id]["messages"].append(message)
        return message

    def delete_message(self, channel_id: str, ts: str) -> None:
        """Someone removed a message in Slack."""
        messages = self.channels[channel_id]["messages"]
        messages[:] = [m for m in messages if m["ts"] != ts]

    # --- the Web API ----------------------------------------------------------------------------------

    def answer(self, method: str, args: dict[str, Any], authorization: str) -> Answer:
        with self._lock:
            self.calls.append((method, args))
            faults = self._faults.get(method)
            fault = None
            if faults and faults[0].after:
                faults[0].after -= 1
            elif faults:
                fault = faults.pop(0)
        if self.echo:
            self.echo(f"{method} {json.dumps(args, default=str)[:300]}")
        if self.hang_seconds:
            self._released.wait(self.hang_seconds)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return fault.status, headers, {"ok": False, "error": fault.error}
        if authorization != f"Bearer {self.token}":
            return 200, {}, {"ok": False, "error": "invalid_auth" if authorization else "not_authed"}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        with self._lock:
            body: dict[str, Any] = handler(args)
        return 200, {"X-OAuth-Scopes": ",".join(self.scopes)}, body

    def _channel(self, args: dict[str, Any]) -> dict[str, Any] | None:
        return self.channels.get(str(args.get("channel", "")))

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user_id": "UBOT", "team": "Fake", "url": self.origin + "/"}

    def _conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name", ""))
        if not NAME_RULE.match(name):
            return {
                "ok": False,
                "error": "invalid_name_specials" if len(name) <= 80 else "invalid_name_maxlength",
            }
        if any(c["name"] == name for c in self.channels.values()):
            return {"ok": False, "error": "name_taken"}
        channel_id = f"C{next(self._ids):07d}"
        private = str(args.get("is_private", "")).lower() in ("1", "true")  # the SDK sends booleans as 1/0
        self.channels[channel_id] = {
            "id": channel_id, "name": name, "is_channel": True, "is_private": private,
            "created": int(time.time()), "topic": {"value": ""}, "members": ["UBOT"], "messages": [],
        }  # fmt: skip
        return {"ok": True, "channel": self._public(self.channels[channel_id])}

    def _public(self, channel: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in channel.items() if k not in ("messages", "members")}

    def _conversations_setTopic(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        channel["topic"] = {"value": str(args.get("topic", ""))}
        return {"ok": True, "channel": self._public(channel)}

    def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        wanted = [u for u in str(args.get("users", "")).split(",") if u]
        if not wanted or any(u not in self.users for u in wanted):
            return {"ok": False, "error": "user_not_found"}
        new = [u for u in wanted if u not in channel["members"]]
        if not new:
            return {"ok": False, "error": "already_in_channel"}
        channel["members"].extend(new)
        return {"ok": True, "channel": self._public(channel)}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not args.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        ts = f"{int(time.time())}.{next(self._ids):06d}"
        message = {"type": "message", "user": "UBOT", "text": args.get("text", ""), "ts": ts}
        if blocks:
            message["blocks"] = blocks
        channel["messages"].append(message)
        return {"ok": True, "channel": channel["id"], "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Edits a message in place, as Slack does: only the bot's own, found by its ts."""
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = str(args.get("ts", ""))
        message = next((m for m in channel["messages"] if m["ts"] == ts), None)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.get("user") != "UBOT":
            return {"ok": False, "error": "cant_update_message"}
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not args.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        message["text"] = args.get("text", "")
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": "UBOT", "ts": f"{int(time.time())}.000000"}
        shown = {k: v for k, v in message.items() if k != "type"}
        return {"ok": True, "channel": channel["id"], "ts": ts, "text": message["text"], "message": shown}

    def _users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email", "")).lower()
        found = next((u for u in self.users.values() if u["profile"]["email"].lower() == email), None)
        return {"ok": True, "user": found} if found else {"ok": False, "error": "users_not_found"}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self.users.get(str(args.get("user", "")))
        return {"ok": True, "user": found} if found else {"ok": False, "error": "user_not_found"}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        latest = float(args.get("latest") or "inf")
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        limit = int(args.get("limit") or 100)
        older = [
            m for m in channel["messages"]
            if float(m["ts"]) < latest or (inclusive and float(m["ts"]) == latest)
        ]  # fmt: skip
        newest_first = sorted(older, key=lambda m: float(m["ts"]), reverse=True)
        return {"ok": True, "messages": newest_first[:limit], "has_more": len(newest_first) > limit}


def _arguments(handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
    """Slack accepts arguments in the query string, a form body or a JSON body alike."""
    args: dict[str, Any] = dict(parse_qsl(urlsplit(handler.path).query))
    kind = handler.headers.get("content-type", "")
    if body and "json" in kind:
        args.update(json.loads(body))
    elif body:
        args.update(parse_qsl(body.decode()))
    return args


@contextmanager
def running_slack(echo: Callable[[str], None] | None = None, port: int = 0) -> Iterator[FakeSlack]:
    fake = FakeSlack(echo=echo)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0") or 0))
            path = urlsplit(self.path).path
            if path.startswith("/response/"):
                fake.responses.append({"path": path, **json.loads(body or b"{}")})
                status, headers, answer = 200, {}, {"ok": True}
            elif path.startswith("/api/"):
                method = path.removeprefix("/api/")
                args = _arguments(self, body)
                status, headers, answer = fake.answer(method, args, self.headers.get("authorization", ""))
            else:
                status, headers, answer = 404, {}, {"ok": False, "error": "not_found"}
            encoded = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(encoded)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(encoded)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            return None

    with serving(Handler, port) as server:
        fake.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
        try:
            yield fake
        finally:
            fake.release()


DEMO_USERS = [
    ("admin@warroom.local", "Admin"),
    ("alice@demo.warroom", "Alice Okafor"),
    ("bob@demo.warroom", "Bob Lindqvist"),
    ("carol@demo.warroom", "Carol Mendes"),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--user", action="append", default=[], help="email=Name (default: the demo's people)")
    options = parser.parse_args()
    people = [tuple(u.split("=", 1)) if "=" in u else (u, u) for u in options.user] or DEMO_USERS
    with running_slack(echo=lambda line: print(line, flush=True), port=options.port) as fake:
        for email, name in people:
            print(f"user {fake.add_user(email, name)}: {email}")
        print(f"fake Slack Web API on {fake.url}\nstart warroom with:\n"
              f"  WARROOM_SLACK_API_URL={fake.url} WARROOM_SLACK_BOT_TOKEN={fake.token} "
              "WARROOM_SLACK_SIGNING_SECRET=any-secret make run", flush=True)  # fmt: skip
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
