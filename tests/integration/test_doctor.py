"""The integration doctor (issue #18), on both databases: each configured integration checked without
side effects against fakes speaking the real APIs (Slack's auth.test scopes, Jira's myself and
mypermissions, an SMTP server, webhook hosts, Apprise URLs, feeds' own state); a failing check is told to
admins once, not on every run, and again only after it passed; bad Apprise and webhook addresses are
refused when saved; `warroom doctor` prints the findings and exits 1 when one fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from tests import cli
from tests.fakes.jira import API_TOKEN, EMAIL, FakeJira, running_jira
from tests.fakes.slack import FakeSlack, running_slack
from tests.fakes.smtp import running_mailbox
from tests.integration.conftest import Api
from tests.integration.web_helpers import open_web, text_of
from tests.process import free_port, running_server
from warroom.notify.models import OutgoingMessage
from warroom.wiring import IntegrationDoctor


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@pytest.fixture
def fakes(api: Api) -> Iterator[tuple[FakeSlack, FakeJira]]:
    with running_slack() as slack, running_jira() as jira:
        settings = api.context.settings
        settings.slack_bot_token, settings.slack_api_url = SecretStr(slack.token), slack.url
        settings.jira_url, settings.jira_email, settings.jira_token = jira.url, EMAIL, SecretStr(API_TOKEN)
        yield slack, jira


async def told(api: Api) -> list[str]:
    async with api.context.db.read() as session:
        rows = await session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.idempotency_key.like("doctor:%"))
        )
        return sorted(row.subject for row in rows)


async def test_every_integration_is_checked_and_a_failure_told_once(
    api: Api, fakes: tuple[FakeSlack, FakeJira]
) -> None:
    slack, jira = fakes
    slack.scopes = ("chat:write", "users:read")
    jira.denied = {("SEC", "TRANSITION_ISSUES")}
    for project, restricted in (("OPS", False), ("SEC", True)):
        await ok(
            await api.admin.post("/api/v1/jira/rules", json={"project": project, "restricted": restricted}),
            201,
        )
    await ok(
        await api.admin.post("/api/v1/me/contact-methods", json={"kind": "log", "address": "admin"}), 201
    )
    dead = f"http://127.0.0.1:{free_port()}/hook"
    method = {"kind": "webhook", "address": dead}
    webhook = await ok(await api.responder.post("/api/v1/me/contact-methods", json=method), 201)

    found = {f["check"]: f for f in await ok(await api.admin.post("/api/v1/doctor/run"))}
    assert found["slack"]["status"] == "fail" and "channels:manage" in found["slack"]["detail"]
    assert "scopes" in found["slack"]["fix"]
    assert found["jira"]["status"] == "ok" and found["jira:OPS"]["status"] == "ok"
    assert found["jira:SEC"]["status"] == "fail" and "TRANSITION_ISSUES" in found["jira:SEC"]["detail"]
    assert found[f"webhook:{webhook['id']}"]["status"] == "fail"
    assert "unreachable" in found[f"webhook:{webhook['id']}"]["detail"]
    assert not jira.issues and [c for c in slack.calls if c[0] != "auth.test"] == []  # no side effects
    assert await told(api) == [
        "Integration failing: jira:SEC",
        "Integration failing: slack",
        f"Integration failing: webhook:{webhook['id']}",
    ]

    await IntegrationDoctor().run(
        api.context, api.clock.now()
    )  # the worker's run: still failing, not told again
    assert len(await told(api)) == 3
    slack.scopes = FakeSlack().scopes  # every scope warroom asks for
    jira.denied = set()
    listed = {f["check"]: f for f in await ok(await api.admin.post("/api/v1/doctor/run"))}
    assert listed["slack"]["status"] == "ok" and listed["jira:SEC"]["status"] == "ok"
    stored = {f["check"]: f for f in await ok(await api.admin.get("/api/v1/doctor"))}
    assert stored["slack"]["failing_since"] is None
    assert stored[f"webhook:{webhook['id']}"]["failing_since"] is not None
    slack.token = "xoxb-revoked"  # fails again after passing: told again
    api.clock.advance(timedelta(minutes=15))
    await ok(await api.admin.post("/api/v1/doctor/run"))
    assert len(await told(api)) == 4
    assert (await api.responder.post("/api/v1/doctor/run")).status_code == 403
    assert (await api.viewer.get("/api/v1/doctor")).status_code == 403


async def test_contact_addresses_are_checked_when_saved(api: Api) -> None:
    for address, said in (("bogus://x", "Apprise cannot use"), ("tgram://", "Apprise cannot use")):
        refused = await api.responder.post(
            "/api/v1/me/contact-methods", json={"kind": "apprise", "address": address}
        )
        assert refused.status_code == 422 and said in refused.text
    refused = await api.responder.post(
        "/api/v1/me/contact-methods", json={"kind": "webhook", "address": "https://"}
    )
    assert refused.status_code == 422
    await ok(
        await api.responder.post(
            "/api/v1/me/contact-methods", json={"kind": "apprise", "address": "ntfy://oncall"}
        ),
        201,
    )
    assert len(await ok(await api.responder.get("/api/v1/me/contact-methods"))) == 1


def test_warroom_doctor_prints_and_fails(db_url: str, data_dir: Path, tmp_path: Path) -> None:
    env = {"WARROOM_DATABASE_URL": db_url, "WARROOM_DATA_DIR": str(data_dir)}
    made = cli.invoke(
        ["token", "create", "--email", "boss@example.com", "--name", "cli", "--role", "admin"], env
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    with running_slack() as slack:
        slack.token = "xoxb-other"  # warroom's token is not this one: Slack says invalid_auth
        served = {**env, "WARROOM_SLACK_BOT_TOKEN": "xoxb-wrong", "WARROOM_SLACK_API_URL": slack.url}
        with running_server(served, log_dir=tmp_path / "server") as server:
            result = cli.invoke(
                ["doctor"], {"WARROOM_URL": server.url, "WARROOM_TOKEN": token, "COLUMNS": "200"}
            )
            listed = cli.invoke(["doctor", "--json"], {"WARROOM_URL": server.url, "WARROOM_TOKEN": token})
    assert result.exit_code == 1, result.output
    assert "invalid_auth" in result.stdout and "1 checks: 0 passing, 1 failing" in result.stdout
    assert '"check": "slack"' in listed.stdout and listed.exit_code == 1


async def test_the_doctor_page_checks_and_shows_how_to_fix(
    api: Api, fakes: tuple[FakeSlack, FakeJira]
) -> None:
    slack, _jira = fakes
    slack.scopes = ("chat:write",)
    async with open_web(api) as web:
        assert "Not checked yet" in text_of((await web["admin"].client.get("/admin/doctor")).text)
        shown = await web["admin"].post("/admin/doctor/run", {})
        assert shown.status_code == 303
        page = text_of((await web["admin"].client.get("/admin/doctor")).text)
        assert "fail slack the bot token for Fake lacks channels:manage" in page
        assert (
            "How to fix it: Add those bot token scopes" in page and "ok jira signed in as warroom bot" in page
        )
        assert (await web["responder"].client.get("/admin/doctor")).status_code == 403


async def test_smtp_is_checked_once_email_is_used_and_sends_nothing(api: Api) -> None:
    assert await ok(await api.admin.post("/api/v1/doctor/run")) == []  # nothing configured, nothing checked
    await ok(
        await api.responder.post(
            "/api/v1/me/contact-methods", json={"kind": "email", "address": "r@x.example"}
        ),
        201,
    )
    settings = api.context.settings
    with running_mailbox() as box:
        settings.smtp_host, settings.smtp_port = "127.0.0.1", box.port
        (found,) = await ok(await api.admin.post("/api/v1/doctor/run"))
        assert (found["check"], found["status"]) == ("smtp", "ok") and box.messages == []
    settings.smtp_port = free_port()  # nothing listens there now
    (found,) = await ok(await api.admin.post("/api/v1/doctor/run"))
    assert found["status"] == "fail" and "WARROOM_SMTP_HOST" in found["fix"]
