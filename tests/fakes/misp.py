"""A fake MISP instance speaking the REST calls `pymisp.PyMISP` makes: the version and user look-ups it
does when it connects, and `events/restSearch` with the key checked and the `timestamp`, `published`,
`to_ids`, `tags`, `limit` and `page` filters applied as MISP applies them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pymisp

from tests.fakes.http import serving

API_KEY = "misp-fake-api-key-0123456789abcdef0123"
USER = {"id": "1", "email": "admin@misp.example", "org_id": "1", "role_id": "3"}
VERSION = {"version": "2.5.2", "pymisp_recommended_version": pymisp.__version__}


@dataclass
class FakeMisp:
    url: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)

    def add_event(self, info: str, timestamp: int, attributes: list[dict[str, Any]], **extra: Any) -> None:
        self.events.append(
            {"id": str(len(self.events) + 1), "info": info, "timestamp": str(timestamp), "published": True,
             "Attribute": attributes, "Tag": [], **extra}
        )  # fmt: skip

    def search(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        self.searches.append(query)
        since = int(query.get("timestamp") or 0)
        wanted_tags = set(query.get("tags") or [])
        found = [
            e
            for e in self.events
            if int(e["timestamp"]) >= since
            and (query.get("published") is None or e["published"] == bool(query["published"]))
            and (not wanted_tags or wanted_tags & {t["name"] for t in e["Tag"]})
        ]
        if str(query.get("to_ids")) == "1":
            found = [{**e, "Attribute": [a for a in e["Attribute"] if a.get("to_ids")]} for e in found]
        limit, page = int(query.get("limit") or 0), int(query.get("page") or 1)
        if limit:
            found = found[(page - 1) * limit : page * limit]
        return [{"Event": e} for e in found]


def _describe_types() -> Any:
    # The types table MISP serves is the one pymisp ships for offline use.
    return json.loads((Path(pymisp.__file__).parent / "data" / "describeTypes.json").read_text())


class MispHandler(BaseHTTPRequestHandler):
    fake: FakeMisp  # set on the subclass each running_misp() makes

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test's output is the assertions, not the access log

    def _answer(self, status: int, body: Any) -> None:
        encoded = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def _authorised(self) -> bool:
        if self.headers.get("authorization") == API_KEY:
            return True
        self._answer(403, {"name": "Authentication failed.", "message": "Authentication failed."})
        return False

    def do_GET(self) -> None:
        if not self._authorised():
            return
        answers = {
            "/servers/getVersion": lambda: {
                "version": "2.5.2",
                "pymisp_recommended_version": pymisp.__version__,
            },
            "/users/view/me": lambda: {"User": USER, "Role": {"id": "3", "name": "User"}, "UserSetting": {}},
            "/attributes/describeTypes.json": _describe_types,
        }
        found = answers.get(self.path)
        if found is None:
            self._answer(404, {"name": "Not Found", "message": "Not Found", "url": self.path})
        else:
            self._answer(200, found())

    def do_POST(self) -> None:
        if not self._authorised():
            return
        length = int(self.headers.get("content-length") or 0)
        query = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/events/restSearch":
            self._answer(200, {"response": self.fake.search(query)})
        else:
            self._answer(404, {"name": "Not Found", "message": "Not Found", "url": self.path})


@contextmanager
def running_misp() -> Iterator[FakeMisp]:
    fake = FakeMisp()
    handler = type("Handler", (MispHandler,), {"fake": fake})
    with serving(handler) as server:
        fake.url = f"http://127.0.0.1:{server.server_port}"
        yield fake
