"""A fake Jira speaking the REST calls the `jira` package makes for warroom, on REST v3 (Cloud: basic
auth with an email and API token, ADF bodies) or v2 (Data Center: a bearer personal access token, text
bodies): serverInfo, issue create/read/edit, comments, transitions, user search, myself, the field list and
issue search by project and label (Data Center's `search`, Cloud's `search/jql`). It also builds
the webhook deliveries Jira would send when someone changes an issue, signed as Jira signs them
(X-Hub-Signature: sha256=HMAC of the body). `outage` makes it answer 503 once, then hang."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import serving

EMAIL, API_TOKEN, PAT = "bot@example.com", "jira-api-token", "jira-personal-access-token"
STATUSES = {"To Do": ("11", "new"), "In Progress": ("21", "indeterminate"), "Done": ("31", "done")}
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
FIELDS = ("summary", "description", "priority", "status", "labels", "components", "assignee", "duedate")
ROUTE = re.compile(r"^/rest/api/(?P<version>[23])/(?P<path>[^?]*)")


@dataclass
class FakeJira:
    url: str = ""
    projects: set[str] = field(default_factory=lambda: {"OPS", "SEC"})
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, list[Any]] = field(default_factory=dict)
    users: list[dict[str, str]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    versions_seen: set[str] = field(default_factory=set)
    denied: set[tuple[str, str]] = field(default_factory=set)  # (project, permission) the bot lacks
    rate_limited: int = 0  # answer 429 (Retry-After: 1) to this many calls
    outage: bool = False  # answer 503 once, then hang until released (end_outage)
    answered_503: bool = False
    released: threading.Event = field(default_factory=threading.Event)

    def start_outage(self) -> None:
        self.outage, self.answered_503 = True, False
        self.released.clear()

    def end_outage(self) -> None:
        self.outage = False
        self.released.set()

    def add_user(self, email: str, name: str) -> None:
        self.users.append(
            {
                "accountId": f"acc-{len(self.users) + 1}",
                "emailAddress": email,
                "displayName": name,
                "name": email.split("@")[0],
                "active": "true",
            }
        )

    def status_of(self, key: str) -> str:
        return str(self.issues[key]["fields"]["status"]["name"])

    def webhook(
        self, key: str, secret: str, now_ms: int, by: str, **changes: tuple[str, str]
    ) -> tuple[bytes, dict[str, str]]:
        """The delivery Jira sends after `by` (an email) changed fields of `key`: (body, headers)."""
        issue = self.issues[key]
        for name, (_old, new) in changes.items():
            if name == "status":
                issue["fields"]["status"] = _status(new)
            elif name == "priority":
                issue["fields"]["priority"] = {"name": new}
            else:
                issue["fields"][name] = new
        user = next(
            (u for u in self.users if u["emailAddress"] == by), {"displayName": by, "emailAddress": by}
        )
        body = json.dumps(
            {
                "timestamp": now_ms,
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": "issue_generic",
                "user": user,
                "issue": {"id": issue["id"], "key": key, "fields": issue["fields"]},
                "changelog": {
                    "id": str(uuid.uuid4().int % 10**6),
                    "items": [
                        {"field": name, "fieldtype": "jira", "fromString": old, "toString": new}
                        for name, (old, new) in changes.items()
                    ],
                },
            }
        ).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "content-type": "application/json",
            "x-hub-signature": f"sha256={signature}",
            "x-atlassian-webhook-identifier": str(uuid.uuid4()),
        }
        return body, headers


def _status(name: str) -> dict[str, Any]:
    status_id, category = STATUSES[name]
    return {"id": status_id, "name": name, "statusCategory": {"key": category}}


class JiraHandler(BaseHTTPRequestHandler):
    fake: FakeJira

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        encoded = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def _authorised(self, version: str) -> bool:
        header = self.headers.get("authorization", "")
        basic = "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
        if header in (basic, f"Bearer {PAT}"):
            return True
        self._answer(401, {"errorMessages": ["You are not authenticated."], "errors": {}})
        return False

    def _body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _route(self, method: str) -> None:
        fake, parts = self.fake, urlsplit(self.path)
        found = ROUTE.match(parts.path)
        fake.calls.append((method, parts.path))
        if fake.outage:
            if fake.answered_503:  # the second call on: hang until the test ends the outage
                fake.released.wait(60)
            fake.answered_503 = True
            self._answer(503, {"errorMessages": ["Service unavailable"]})
            return
        if fake.rate_limited:
            fake.rate_limited -= 1
            self._answer(429, {"errorMessages": ["Rate limit exceeded."]}, {"retry-after": "1"})
            return
        if found is None:
            self._answer(404, {"errorMessages": ["no such resource"]})
            return
        if not self._authorised(found["version"]):
            return
        fake.versions_seen.add(found["version"])
        answer = dispatch(fake, method, found["version"], found["path"], parse_qs(parts.query), self)
        self._answer(*answer)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")


def _issue_out(fake: FakeJira, version: str, key: str) -> dict[str, Any]:
    issue = fake.issues[key]
    return {**issue, "self": f"{fake.url}/rest/api/{version}/issue/{issue['id']}"}


def _create(fake: FakeJira, version: str, body: dict[str, Any]) -> tuple[int, Any]:
    fields = body.get("fields", {})
    project = fields.get("project", {}).get("key")
    errors = {}
    if project not in fake.projects:
        errors["project"] = "valid project is required"
    if fields.get("priority") and fields["priority"].get("name") not in PRIORITIES:
        errors["priority"] = "The priority selected is invalid."
    description = fields.get("description")
    if description is not None and isinstance(description, dict) != (version == "3"):
        errors["description"] = (
            "Operation value must be an Atlassian Document" if version == "3" else "must be a string"
        )
    if errors:
        return 400, {"errorMessages": [], "errors": errors}
    number = sum(1 for k in fake.issues if k.startswith(f"{project}-")) + 1
    key, issue_id = f"{project}-{number}", str(10000 + len(fake.issues))
    fake.issues[key] = {"id": issue_id, "key": key, "fields": {**fields, "status": _status("To Do")}}
    fake.comments[key] = []
    return 201, {"id": issue_id, "key": key, "self": f"{fake.url}/rest/api/{version}/issue/{issue_id}"}


SEARCH = re.compile(r'^project = "(?P<project>[^"]+)" AND labels = "(?P<label>[^"]+)"$')


def _search(fake: FakeJira, version: str, jql: str, *, cloud: bool) -> dict[str, Any]:
    """The one JQL shape warroom sends (a project and a label), answered as each deployment answers."""
    wanted = SEARCH.match(jql)
    found = [
        _issue_out(fake, version, key)
        for key, issue in fake.issues.items()
        if wanted
        and key.startswith(f"{wanted['project']}-")
        and wanted["label"] in issue["fields"].get("labels", [])
    ]
    if cloud:
        return {"issues": found[:1], "isLast": True}
    return {"startAt": 0, "maxResults": 1, "total": len(found), "issues": found[:1]}


def _key_of(fake: FakeJira, ref: str) -> str | None:
    return ref if ref in fake.issues else next((k for k, i in fake.issues.items() if i["id"] == ref), None)


def _issue_call(
    fake: FakeJira, method: str, version: str, rest: list[str], handler: JiraHandler
) -> tuple[int, Any]:
    key = _key_of(fake, rest[0])
    if key is None:
        return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
    tail = rest[1] if len(rest) > 1 else ""
    if tail == "" and method == "GET":
        return 200, _issue_out(fake, version, key)
    if tail == "" and method == "PUT":
        fake.issues[key]["fields"].update(handler._body().get("fields", {}))
        return 204, None
    if tail == "comment" and method == "POST":
        body = handler._body()["body"]
        if isinstance(body, dict) != (version == "3"):
            return 400, {"errorMessages": ["Comment body must be ADF on v3, text on v2"], "errors": {}}
        fake.comments[key].append(body)
        return 201, {"id": str(len(fake.comments[key])), "body": body}
    if tail == "transitions" and method == "GET":
        return 200, {
            "transitions": [{"id": i, "name": n, "to": _status(n)} for n, (i, _c) in STATUSES.items()]
        }
    if tail == "transitions" and method == "POST":
        wanted = handler._body()["transition"]["id"]
        name = next((n for n, (i, _c) in STATUSES.items() if i == str(wanted)), None)
        if name is None:
            return 400, {"errorMessages": ["Transition id is not valid for this issue."], "errors": {}}
        fake.issues[key]["fields"]["status"] = _status(name)
        return 204, None
    return 404, {"errorMessages": ["no such resource"]}


def dispatch(
    fake: FakeJira, method: str, version: str, path: str, query: dict[str, list[str]], handler: JiraHandler
) -> tuple[int, Any]:
    parts = path.strip("/").split("/")
    if path == "serverInfo":
        cloud = version == "3"
        return 200, {
            "baseUrl": fake.url,
            "version": "1001.0.0" if cloud else "10.3.1",
            "versionNumbers": [1001, 0, 0] if cloud else [10, 3, 1],
            "deploymentType": "Cloud" if cloud else "Server",
            "serverTitle": "Fake Jira",
        }
    if path == "mypermissions":
        wanted = (query.get("permissions") or [""])[0].split(",")
        project = (query.get("projectKey") or [""])[0]
        held = {p: {"key": p, "havePermission": (project, p) not in fake.denied} for p in wanted if p}
        return 200, {"permissions": held}
    if path == "myself":
        return 200, {"accountId": "acc-bot", "emailAddress": EMAIL, "displayName": "warroom bot"}
    if path == "issue" and method == "POST":
        return _create(fake, version, handler._body())
    if parts[0] == "issue" and len(parts) > 1:
        return _issue_call(fake, method, version, parts[1:], handler)
    if path == "field":  # the field list the package reads once to translate names in searches
        return 200, [
            {"id": name, "key": name, "name": name.capitalize(), "custom": False, "navigable": True}
            for name in FIELDS
        ]
    if path in ("search", "search/jql"):  # Data Center's search; Cloud's enhanced search
        return 200, _search(fake, version, (query.get("jql") or [""])[0], cloud=path == "search/jql")
    if path == "user/search":
        wanted = (query.get("query") or query.get("username") or [""])[0].lower()
        found = [u for u in fake.users if u["emailAddress"].lower() == wanted]
        return 200, [
            {**u, "self": f"{fake.url}/rest/api/{version}/user?accountId={u['accountId']}"} for u in found
        ]
    return 404, {"errorMessages": [f"no resource {path}"]}


@contextmanager
def running_jira() -> Iterator[FakeJira]:
    fake = FakeJira()
    fake.released.set()
    handler = type("Handler", (JiraHandler,), {"fake": fake})
    with serving(handler) as server:
        fake.url = f"http://127.0.0.1:{server.server_port}"
        yield fake
        fake.released.set()
