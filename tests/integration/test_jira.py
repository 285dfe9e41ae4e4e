"""Jira, two ways (issue #18), on both databases, against tests/fakes/jira.py driven by the `jira`
package: declaring makes an issue in the rule's project (REST v3 with ADF on Cloud, v2 with a PAT on Data
Center); severity, title and phase changes update it; stakeholder updates and resolution become comments;
a signed webhook brings a transition, a priority and a summary back (as the warroom user who made them, or
as a note); forged, stale and replayed deliveries are refused and change nothing; restricted incidents go
only to the project kept for them; review action items become assigned issues whose done state comes back;
an outage of Jira holds up only its own queue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import structlog
from pydantic import SecretStr
from sqlalchemy import select

from tests.fakes.jira import API_TOKEN, EMAIL, PAT, FakeJira, running_jira
from tests.integration.conftest import Api
from warroom.jobs.models import Job
from warroom.jobs.service import JobSpec, enqueue
from warroom.tracker.models import JiraIssue
from warroom.wiring import JiraActionItems, new_worker

SECRET = "jira-webhook-secret"
STATUSES = {"In Progress": "containment", "Done": "review"}


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@pytest.fixture
def jira(api: Api) -> Iterator[FakeJira]:
    with running_jira() as fake:
        settings = api.context.settings
        settings.jira_url, settings.jira_email = fake.url, EMAIL
        settings.jira_token, settings.jira_api_version = SecretStr(API_TOKEN), "3"
        settings.jira_webhook_secret, settings.jira_timeout_seconds = SecretStr(SECRET), 2.0
        fake.add_user(api.emails["responder"], "Rita Responder")
        yield fake
        fake.end_outage()


async def work(api: Api) -> None:
    await new_worker(api.context, periodic=()).run_once()


async def declare(api: Api, title: str, **extra: Any) -> str:
    body = {"title": title, "severity": "P3", "type": "outage", "services": ["checkout"], **extra}
    ref = (await ok(await api.responder.post("/api/v1/incidents", json=body), 201))["ref"]
    commander = {"role": "incident_commander", "user": api.emails["responder"]}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/roles", json=commander))
    return str(ref)


async def setup(api: Api, **rule: Any) -> None:
    await ok(await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"}), 201)
    body = {"service": "checkout", "project": "OPS", "labels": ["incident"], "statuses": STATUSES, **rule}
    await ok(await api.admin.post("/api/v1/jira/rules", json=body), 201)


async def deliver(api: Api, body: bytes, headers: dict[str, str]) -> Any:
    return await api.anonymous.post("/hooks/jira", content=body, headers=headers)


def comments(jira: FakeJira, key: str) -> list[str]:
    """Each comment's text (its ADF paragraphs joined)."""
    return ["\n".join(p["content"][0]["text"] for p in c["content"]) for c in jira.comments[key]]


def now_ms(api: Api) -> int:
    return int(api.clock.now().timestamp() * 1000)


async def test_declare_update_comment_and_come_back(api: Api, jira: FakeJira) -> None:
    await setup(api)
    ref = await declare(api, "Checkout errors", summary="5xx on pay")
    await work(api)
    issue = jira.issues["OPS-1"]["fields"]
    assert issue["summary"] == f"{ref}: Checkout errors" and issue["priority"] == {"name": "Medium"}
    assert issue["labels"][0] == "incident" and issue["description"]["type"] == "doc"  # ADF on v3
    assert re.fullmatch(r"warroom-[0-9a-f]{8}-\d+", issue["labels"][1])  # what a retried create looks for
    assert jira.versions_seen == {"3"}
    links = (await ok(await api.responder.get(f"/api/v1/incidents/{ref}")))["links"]
    assert [(link["title"], link["url"]) for link in links] == [("Jira OPS-1", f"{jira.url}/browse/OPS-1")]

    patch = {"severity": "P2", "severity_reason": "EU wide", "title": "Checkout errors for EU"}
    await ok(await api.responder.patch(f"/api/v1/incidents/{ref}", json=patch))
    update = {"audience": "stakeholder", "body": "Rolled back; watching."}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/updates", json=update), 201)
    await work(api)
    issue = jira.issues["OPS-1"]["fields"]
    assert issue["priority"] == {"name": "High"} and issue["summary"] == f"{ref}: Checkout errors for EU"
    said = comments(jira, "OPS-1")
    assert any("Rolled back; watching." in line for line in said)

    # Rita (a responder here) moves the issue in Jira: the incident follows, as her.
    body, headers = jira.webhook(
        "OPS-1", SECRET, now_ms(api), api.emails["responder"], status=("To Do", "In Progress")
    )
    assert (await ok(await deliver(api, body, headers)))["outcome"] == "incident updated"
    incident = await ok(await api.responder.get(f"/api/v1/incidents/{ref}"))
    assert incident["phase"] == "containment"
    # The same delivery again is a replay; a forged one and a stale one are refused too.
    assert (await deliver(api, body, headers)).status_code == 409
    forged = {**headers, "x-hub-signature": "sha256=" + "0" * 64, "x-atlassian-webhook-identifier": "other"}
    assert (await deliver(api, body, forged)).status_code == 401
    stale, stale_headers = jira.webhook(
        "OPS-1", SECRET, now_ms(api) - 600_000, api.emails["responder"], priority=("High", "Highest")
    )
    assert (await deliver(api, stale, stale_headers)).status_code == 401
    assert (await ok(await api.responder.get(f"/api/v1/incidents/{ref}")))["severity"] == "P2"

    # Someone warroom does not know: noted, not applied.
    body, headers = jira.webhook(
        "OPS-1", SECRET, now_ms(api), "stranger@example.com", priority=("High", "Highest")
    )
    await ok(await deliver(api, body, headers))
    assert (await ok(await api.responder.get(f"/api/v1/incidents/{ref}")))["severity"] == "P2"
    timeline = await ok(await api.responder.get(f"/api/v1/incidents/{ref}/timeline"))
    notes = [e["data"]["body"] for e in timeline if e["kind"] == "note"]
    assert any("'High' to 'Highest'" in n and "not a responder here" in n for n in notes)

    lead = {"role": "technical_lead", "user": api.emails["admin"]}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/roles", json=lead))
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "rolled back"}))
    await work(api)
    assert jira.status_of("OPS-1") == "Done"  # resolving moved the issue to the status mapped to review
    said = comments(jira, "OPS-1")
    assert any(line.startswith("Resolved by") for line in said)


async def test_data_center_with_a_personal_access_token(api: Api, jira: FakeJira) -> None:
    settings = api.context.settings
    settings.jira_email, settings.jira_token, settings.jira_api_version = None, SecretStr(PAT), None
    await setup(api)
    await declare(api, "Search slow")
    await work(api)
    assert jira.versions_seen == {"2"} and isinstance(jira.issues["OPS-1"]["fields"]["description"], str)


@pytest.mark.parametrize("version", ["3", "2"])
async def test_a_create_whose_answer_was_lost_adopts_the_issue_jira_made(
    api: Api, jira: FakeJira, version: str
) -> None:
    """Jira made the issue but warroom never recorded it (its commit failed after the call): the retry
    finds the issue by its attempt label (Cloud's enhanced search, Data Center's search) and adopts it."""
    if version == "2":
        settings = api.context.settings
        settings.jira_email, settings.jira_token, settings.jira_api_version = None, SecretStr(PAT), None
    await setup(api)
    ref = await declare(api, "Queue backlog")
    await work(api)
    assert list(jira.issues) == ["OPS-1"]
    async with api.context.db.write() as session:
        (issue,) = list(await session.scalars(select(JiraIssue)))
        issue.key, issue.url = None, None  # as if the first attempt's outcome was never committed
        spec = JobSpec("jira.create_issue", {"issue_id": issue.id}, queue="tracker.jira")
        await enqueue(session=session, spec=spec, now=api.clock.now())
        await session.commit()
    await work(api)
    assert list(jira.issues) == ["OPS-1"]  # no second issue
    search = "search/jql" if version == "3" else "search"
    assert ("GET", f"/rest/api/{version}/{search}") in jira.calls
    async with api.context.db.read() as session:
        assert (await session.scalar(select(JiraIssue.key))) == "OPS-1"
    assert ref


async def test_restricted_incidents_go_only_to_their_own_project(api: Api, jira: FakeJira) -> None:
    await setup(api)
    secret = await declare(api, "Exfiltration from fs-01", restricted=True)
    await work(api)
    assert jira.issues == {}  # no restricted rule: no issue anywhere, and no title in OPS
    await ok(await api.admin.post("/api/v1/jira/rules", json={"project": "SEC", "restricted": True}), 201)
    other = await declare(api, "Credential stuffing", restricted=True)
    await work(api)
    assert list(jira.issues) == ["SEC-1"] and other in jira.issues["SEC-1"]["fields"]["summary"]
    assert secret not in str(jira.issues)
    open_one = await declare(api, "Open outage")
    await work(api)
    assert jira.issues["OPS-1"]["fields"]["summary"].endswith("Open outage")
    await ok(await api.responder.patch(f"/api/v1/incidents/{open_one}", json={"restricted": True}))
    await ok(await api.responder.patch(f"/api/v1/incidents/{open_one}", json={"title": "Now secret"}))
    await work(api)
    assert "Now secret" not in str(jira.issues["OPS-1"])  # restricted later: its open issue is left alone


async def test_action_items_become_issues_and_their_done_state_comes_back(api: Api, jira: FakeJira) -> None:
    await setup(api)
    ref = await declare(api, "Disk full")
    await work(api)
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "cleaned"}))
    item = {
        "title": "Alert on disk at 80%",
        "type": "prevent",
        "owner": api.emails["responder"],
        "due_on": "2026-03-20",
    }
    made = await ok(await api.responder.post(f"/api/v1/incidents/{ref}/review/action-items", json=item), 201)
    await JiraActionItems().run(api.context, api.clock.now())
    await work(api)
    key = next(k for k, i in jira.issues.items() if i["fields"]["summary"] == "Alert on disk at 80%")
    fields = jira.issues[key]["fields"]
    assert fields["assignee"] == {"accountId": "acc-1"} and fields["duedate"] == "2026-03-20"
    listed = await ok(await api.viewer.get("/api/v1/action-items"))
    assert next(i for i in listed if i["id"] == made["id"])["tracker_url"] == f"{jira.url}/browse/{key}"
    await JiraActionItems().run(api.context, api.clock.now())
    await work(api)
    assert sum(1 for i in jira.issues.values() if i["fields"]["summary"] == "Alert on disk at 80%") == 1
    body, headers = jira.webhook(key, SECRET, now_ms(api), api.emails["responder"], status=("To Do", "Done"))
    assert (await ok(await deliver(api, body, headers)))["outcome"] == "action item updated"
    listed = await ok(await api.viewer.get("/api/v1/action-items"))
    assert next(i for i in listed if i["id"] == made["id"])["status"] == "done"


async def test_an_outage_of_jira_holds_up_only_its_own_queue(api: Api, jira: FakeJira) -> None:
    await setup(api)
    jira.start_outage()  # the first call answers 503, every later one hangs
    ref = await declare(api, "During the Jira outage")
    await work(api)
    assert await jira_job_error(api) == "JiraCallFailed: Jira answered 503: Service unavailable"
    assert (await ok(await api.responder.get(f"/api/v1/incidents/{ref}")))["status"] == "active"

    contact = {"kind": "log", "address": api.emails["viewer"]}
    await ok(await api.viewer.post("/api/v1/me/contact-methods", json=contact), 201)
    page = {"kind": "user", "ref": api.emails["viewer"], "reason": "need a hand"}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/page", json=page), 202)
    api.clock.advance(timedelta(minutes=10))  # the Jira job is due again: it hangs this time
    with structlog.testing.capture_logs() as logged:
        for _ in range(2):
            await work(api)
    assert [line["to"] for line in logged if line["event"] == "PAGE"] == [api.emails["viewer"]]
    assert "unreachable" in (await jira_job_error(api) or "")

    jira.end_outage()
    api.clock.advance(timedelta(minutes=30))
    await work(api)
    assert "OPS-1" in jira.issues and await jira_job_error(api) is None


async def jira_job_error(api: Api) -> str | None:
    async with api.context.db.read() as session:
        (job,) = list(await session.scalars(select(Job).where(Job.kind == "jira.create_issue")))
    return job.last_error if job.state != "done" else None


async def test_rules_are_checked_and_admin_only(api: Api) -> None:
    bad = await api.admin.post("/api/v1/jira/rules", json={"project": "OPS", "statuses": {"Done": "nowhere"}})
    assert bad.status_code == 422 and "no phase 'nowhere'" in bad.text
    assert (await api.responder.post("/api/v1/jira/rules", json={"project": "OPS"})).status_code == 403
    assert await ok(await api.admin.get("/api/v1/jira/rules")) == []
    assert (await api.anonymous.post("/hooks/jira", content=b"{}")).status_code == 404  # no secret set
