"""A fake of the one Mattermost REST call warroom makes: GET /api/v4/users/{id} (who sent a command),
with the bot token checked. Incoming-webhook posts go to tests/fakes/sink.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.http import serving

BOT_TOKEN = "mm-bot-token"


@dataclass
class FakeMattermost:
    url: str = ""
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def add_user(self, user_id: str, email: str, username: str) -> str:
        self.users[user_id] = {"id": user_id, "username": username, "email": email}
        self.users[user_id].update(first_name=username.title(), last_name="")
        return user_id


@contextmanager
def running_mattermost() -> Iterator[FakeMattermost]:
    fake = FakeMattermost()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            user_id = self.path.removeprefix("/api/v4/users/")
            fake.lookups.append(user_id)
            if self.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
                status, body = 401, {"id": "api.context.session_expired.app_error", "status_code": 401}
            elif user_id in fake.users:
                status, body = 200, fake.users[user_id]
            else:
                status, body = 404, {"id": "app.user.missing_account.const", "status_code": 404}
            encoded = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, *args: Any) -> None:
            return None

    with serving(Handler) as server:
        fake.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield fake
