"""A page's acknowledge link is a credential (it acknowledges as the person paged): it is signed when the
message is sent and never stored, so no job payload or message body anyone can read holds one, while every
channel (email, webhook, Apprise, the log) still carries a link that works. Old rows written before that
are scrubbed by migration 0012."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
import structlog

from tests.fakes.sink import Sink, running_sink
from tests.fakes.smtp import Mailbox, running_mailbox
from tests.integration.conftest import Api
from warroom.db import sync_url
from warroom.wiring import new_worker

ACK = re.compile(r"https?://\S+/ack/\d+\.\d+\.(\d+)\.[0-9a-f]{32}")
CHANNELS = ("email", "webhook", "apprise", "log")
MIGRATION = Path(__file__).parents[2] / "src/warroom/migrations/versions/0012_scrub_ack_links.py"


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


async def page_responder_everywhere(api: Api, sink: Sink, mailbox: Mailbox, delay: int = 0) -> str:
    """The responder reachable on all four channels (local sinks), paged for service `db`; the intake key."""
    api.context.settings.smtp_port = mailbox.port
    host = sink.url.removeprefix("http://")
    addresses = {
        "email": "responder@example.org",
        "webhook": f"{sink.url}/webhook",
        "apprise": f"json://{host}/apprise",
        "log": "responder-log",
    }
    for kind, address in addresses.items():
        method = await api.responder.post(
            "/api/v1/me/contact-methods", json={"kind": kind, "address": address}
        )
        assert method.status_code == 201, method.text
        rule = {"contact_method": method.json()["id"], "delay_seconds": delay, "urgency": "high"}
        assert (await api.responder.post("/api/v1/me/notification-rules", json=rule)).status_code == 201
    await api.admin.post("/api/v1/services", json={"slug": "db", "name": "DB"})
    step = {"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]}
    policy = {"slug": "db", "name": "DB", "services": ["db"], "steps": [step]}
    assert (await api.admin.post("/api/v1/escalation-policies", json=policy)).status_code == 201
    made = await api.admin.post("/api/v1/integrations", json={"kind": "webhook", "service": "db"})
    return str(made.json()["key"])


async def fire(api: Api, key: str, dedup: str) -> None:
    sent = await api.anonymous.post(
        f"/intake/webhook/{key}", json={"id": dedup, "title": f"{dedup} down", "severity": "critical"}
    )
    assert sent.status_code == 202, sent.text


async def run_worker(api: Api) -> list[dict[str, Any]]:
    """One worker pass; the PAGE lines the `log` channel wrote."""
    with structlog.testing.capture_logs() as logged:
        await new_worker(api.context, periodic=()).run_once()
    return [line for line in logged if line["event"] == "PAGE"]


def received_links(sink: Sink, mailbox: Mailbox, logged: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(channel, subject) -> the acknowledge link that channel delivered."""
    links: dict[tuple[str, str], list[str]] = {}
    for received in mailbox.messages:
        links[("email", str(received.mail["Subject"]))] = [m.group(0) for m in ACK.finditer(received.body)]
    for request in sink.received:
        document = json.loads(request["body"])
        if request["path"] == "/webhook":
            links[("webhook", document["subject"])] = [document["ack_url"]]
        else:  # Apprise's json:// notifier: {title, message, type}
            links[("apprise", document["title"])] = [m.group(0) for m in ACK.finditer(document["message"])]
    for line in logged:
        links[("log", line["subject"])] = [line["acknowledge"]]
    for where, found in links.items():
        assert len(set(found)) == 1, (where, found)  # exactly one link (once or repeated), not two
    return {where: found[0] for where, found in links.items()}


async def stored_rows(api: Api) -> tuple[list[dict[str, Any]], list[str]]:
    """Every job payload (as the admin reads them) and every stored message body."""
    jobs = await api.admin.get("/api/v1/jobs", params={"limit": 500})
    assert jobs.status_code == 200, jobs.text
    async with api.context.db.read() as session:
        bodies = (await session.execute(sa.text("SELECT body FROM outgoing_messages"))).scalars().all()
    return [job["payload"] for job in jobs.json()], list(bodies)


async def test_every_channel_delivers_a_working_link_that_no_stored_row_holds(
    api: Api, sink: Sink, mailbox: Mailbox
) -> None:
    key = await page_responder_everywhere(api, sink, mailbox)
    for name in CHANNELS:  # one alert per channel: each is acknowledged with that channel's link
        await fire(api, key, dedup=f"{name}-alert")
    logged = await run_worker(api)
    links = received_links(sink, mailbox, logged)
    assert {channel for channel, _ in links} == set(CHANNELS) and len(links) == 16, sorted(links)
    payloads, bodies = await stored_rows(api)
    assert len(bodies) == 16 and payloads
    assert not any("/ack/" in body for body in bodies), bodies
    assert not any("ack_url" in p or "/ack/" in json.dumps(p) for p in payloads), payloads
    for viewer in ("viewer", "responder", "stakeholder"):  # nor can anyone but an admin read the jobs
        refused = await api.clients[viewer].get("/api/v1/jobs")
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    base = api.context.settings.resolved_base_url()
    for name in CHANNELS:
        link = links[(name, f"[CRITICAL] {name}-alert down")]
        assert link.startswith(base + "/ack/"), link
        done = await api.anonymous.post(link.removeprefix(base))
        assert done.status_code == 200 and "Paging stopped" in done.text, (name, done.text)
        alert = (await api.viewer.get(f"/api/v1/alerts/{name}-alert")).json()
        assert (alert["status"], alert["acknowledged_by"]) == ("acknowledged", api.emails["responder"])
    statuses = {a["status"] for a in (await api.viewer.get("/api/v1/alerts")).json()["items"]}
    assert statuses == {"acknowledged"}


async def test_the_link_is_signed_for_when_the_page_is_due_not_when_it_was_queued(
    api: Api, sink: Sink, mailbox: Mailbox
) -> None:
    """A page delayed by its rule gets a link valid for a full day from when it is due to go out (and every
    re-send of it carries the same link, so a receiver sees the same bytes under one idempotency key)."""
    key = await page_responder_everywhere(api, sink, mailbox, delay=600)
    await fire(api, key, dedup="late")
    queued_at = api.clock.now()
    assert await run_worker(api) == [] and sink.received == []
    api.clock.advance(timedelta(minutes=10))
    (line,) = await run_worker(api)
    (expires,) = ACK.fullmatch(line["acknowledge"]).groups()  # type: ignore[union-attr]
    assert int(expires) == int((queued_at + timedelta(minutes=10, hours=24)).timestamp())


def load_migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scrub_ack_links", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_migration_0012_scrubs_links_stored_before_and_the_page_still_carries_one(
    api: Api, sink: Sink, mailbox: Mailbox, db_url: str
) -> None:
    key = await page_responder_everywhere(api, sink, mailbox, delay=600)
    await fire(api, key, dedup="queued")
    await run_worker(api)  # the pages are queued, due in ten minutes
    old_link = "http://warroom.test/ack/1.2.1800000000." + "a" * 32
    engine = sa.create_engine(sync_url(db_url))
    with engine.begin() as conn:  # the rows as the code before 0012 wrote them
        jobs = sa.table("jobs", sa.column("id"), sa.column("kind"), sa.column("payload", sa.JSON))
        queued = conn.execute(sa.select(jobs.c.id, jobs.c.payload).where(jobs.c.kind == "notify.send")).all()
        for job_id, payload in queued:
            conn.execute(
                sa.update(jobs).where(jobs.c.id == job_id).values(payload={**payload, "ack_url": old_link})
            )
        conn.execute(
            sa.text("UPDATE outgoing_messages SET body = body || :line"),
            {"line": f"\nAcknowledge: {old_link}"},
        )
        stakeholder = "Stakeholder note\nAcknowledge: http://example.org/not-a-page"
        conn.execute(
            sa.text(
                "INSERT INTO outgoing_messages (idempotency_key, channel, address, subject, body, state, "
                "attempts, due_at, created_at) VALUES ('note', 'log', 'x', 's', :body, 'sent', 1, :t, :t)"
            ),
            {"body": stakeholder, "t": api.clock.now()},
        )
    payloads, bodies = await stored_rows(api)
    assert sum("ack_url" in p for p in payloads) == 4 and sum(old_link in b for b in bodies) == 4
    with engine.begin() as conn:
        load_migration().scrub(conn)
        load_migration().scrub(conn)  # a second run finds nothing to do
    engine.dispose()
    payloads, bodies = await stored_rows(api)
    assert not any("ack_url" in p for p in payloads), payloads
    assert not any(old_link in b for b in bodies) and stakeholder in bodies, bodies
    why = f"Why you were paged: {api.context.settings.resolved_base_url()}/alerts/1#paging"
    assert f"queued down\n\nAlert #1 (queued)\n{why}" in bodies  # the scrub kept the rest of the page
    api.clock.advance(timedelta(minutes=10))
    logged = await run_worker(api)
    links = received_links(sink, mailbox, logged)
    assert len(links) == 4 and old_link not in links.values()
    base = api.context.settings.resolved_base_url()
    done = await api.anonymous.post(links[("email", "[CRITICAL] queued down")].removeprefix(base))
    assert done.status_code == 200 and "Paging stopped" in done.text
