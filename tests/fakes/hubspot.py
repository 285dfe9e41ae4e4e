"""A fake HubSpot speaking the CRM v3 object calls hubspot-api-client makes for warroom (tickets with their
company and contact associations, companies, contacts, ticket updates, notes associated with a ticket, a
page of tickets) with the private app's bearer token checked, and the webhook deliveries HubSpot sends,
signed v3 (base64 HMAC-SHA256 of method, URI, body and timestamp with the app's client secret).
`outage` makes it answer 503 once, then hang."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import serving

TOKEN, CLIENT_SECRET = "pat-na1-fake-token", "hubspot-client-secret"
OBJECT = re.compile(r"^/crm/v3/objects/(?P<kind>tickets|companies|contacts|notes)(?:/(?P<id>\d+))?$")
STAMP = "2026-03-02T09:00:00.000Z"


@dataclass
class FakeHubSpot:
    url: str = ""
    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {"tickets": {}, "companies": {}, "contacts": {}, "notes": {}}
    )
    links: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # ticket -> kind -> ids
    notes_on: dict[str, list[str]] = field(default_factory=dict)  # ticket -> note bodies
    calls: list[tuple[str, str]] = field(default_factory=list)
    outage: bool = False
    answered_503: bool = False
    released: threading.Event = field(default_factory=threading.Event)
    next_id: int = 100

    def add(self, kind: str, **properties: Any) -> str:
        self.next_id += 1
        object_id = str(self.next_id)
        self.objects[kind][object_id] = {k: None if v is None else str(v) for k, v in properties.items()}
        return object_id

    def ticket(self, companies: list[str], contacts: list[str], **properties: Any) -> str:
        ticket_id = self.add("tickets", **properties)
        self.links[ticket_id] = {"companies": companies, "contacts": contacts}
        return ticket_id

    def start_outage(self) -> None:
        self.outage, self.answered_503 = True, False
        self.released.clear()

    def end_outage(self) -> None:
        self.outage = False
        self.released.set()

    def webhook(self, uri: str, now_ms: int, events: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
        """A delivery as HubSpot sends it to `uri`: (body, headers)."""
        body = json.dumps(events).encode()
        timestamp = str(now_ms)
        source = f"POST{uri}{body.decode()}{timestamp}".encode()
        signature = base64.b64encode(
            hmac.new(CLIENT_SECRET.encode(), source, hashlib.sha256).digest()
        ).decode()
        headers = {"content-type": "application/json", "x-hubspot-signature-v3": signature,
                   "x-hubspot-request-timestamp": timestamp}  # fmt: skip
        return body, headers


def event(event_id: int, ticket_id: str, kind: str = "ticket.creation", **extra: Any) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionId": 7, "portalId": 62515, "appId": 1160452,
            "occurredAt": 1772442000000, "subscriptionType": kind, "attemptNumber": 0,
            "objectId": int(ticket_id), "changeSource": "CRM_UI", **extra}  # fmt: skip


def _object_out(fake: FakeHubSpot, kind: str, object_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
    wanted = [p for value in query.get("properties", []) for p in value.split(",")]
    stored = fake.objects[kind][object_id]
    found: dict[str, Any] = {
        "id": object_id, "properties": {p: stored.get(p) for p in wanted} if wanted else dict(stored),
        "createdAt": STAMP, "updatedAt": STAMP, "archived": False,
    }  # fmt: skip
    associations = [a for value in query.get("associations", []) for a in value.split(",")]
    if kind == "tickets" and associations:
        linked = fake.links.get(object_id, {})
        found["associations"] = {
            name: {"results": [{"id": i, "type": f"ticket_to_{name[:-1]}"} for i in linked.get(name, [])]}
            for name in associations
            if linked.get(name)
        }
    return found


def dispatch(
    fake: FakeHubSpot, method: str, path: str, query: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    found = OBJECT.match(path)
    if found is None:
        return 404, {"status": "error", "message": f"no route {path}", "category": "OBJECT_NOT_FOUND"}
    kind, object_id = found["kind"], found["id"]
    if method == "GET" and object_id is None:
        results = [
            _object_out(fake, kind, i, query)
            for i in list(fake.objects[kind])[: int(query.get("limit", ["10"])[0])]
        ]
        return 200, {"results": results}
    if object_id is not None and object_id not in fake.objects[kind]:
        return 404, {"status": "error", "message": "Object not found", "category": "OBJECT_NOT_FOUND"}
    if method == "GET":
        return 200, _object_out(fake, kind, object_id, query)
    if method == "PATCH" and kind == "tickets":
        fake.objects[kind][object_id].update({k: str(v) for k, v in body.get("properties", {}).items()})
        return 200, _object_out(fake, kind, object_id, {})
    if method == "POST" and kind == "notes" and object_id is None:
        note_id = fake.add("notes", **body.get("properties", {}))
        for association in body.get("associations", []):
            types = [t.get("associationTypeId") for t in association.get("types", [])]
            if 228 not in types:
                return 400, {
                    "status": "error",
                    "message": "invalid association type",
                    "category": "VALIDATION_ERROR",
                }
            ticket = str(association["to"]["id"])
            fake.notes_on.setdefault(ticket, []).append(body["properties"]["hs_note_body"])
        return 201, _object_out(fake, "notes", note_id, {})
    return 405, {"status": "error", "message": "method not allowed", "category": "VALIDATION_ERROR"}


class HubSpotHandler(BaseHTTPRequestHandler):
    fake: FakeHubSpot

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        encoded = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json;charset=utf-8")
        self.send_header("content-length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def _route(self, method: str) -> None:
        fake, parts = self.fake, urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fake.calls.append((method, parts.path))
        if fake.outage:
            if fake.answered_503:
                fake.released.wait(60)
            fake.answered_503 = True
            self._answer(
                503, {"status": "error", "message": "Service Unavailable", "category": "SERVICE_UNAVAILABLE"}
            )
            return
        if self.headers.get("authorization") != f"Bearer {TOKEN}":
            self._answer(401, {"status": "error", "message": "Authentication credentials not found.",
                               "category": "INVALID_AUTHENTICATION"})  # fmt: skip
            return
        self._answer(*dispatch(fake, method, parts.path, parse_qs(parts.query), body))

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")


@contextmanager
def running_hubspot() -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot()
    fake.released.set()
    handler = type("Handler", (HubSpotHandler,), {"fake": fake})
    with serving(handler) as server:
        fake.url = f"http://127.0.0.1:{server.server_port}"
        yield fake
        fake.released.set()
