"""Acknowledge an alert from the one-click link in the page email, in a real browser, against a real
`warroom run` (server and worker in one process) mailing a local aiosmtpd server: the mail arrives, its ack
link opens a confirm page, the button acknowledges, and the alerts page shows it acknowledged. The confirm
page and the result are saved at desktop and phone sizes under tests/artifacts/web/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.browser_helpers import (
    Shots,
    Stack,
    no_sideways_scroll,
    playwright_browser,
    running_stack,
)
from tests.fakes.smtp import Mailbox, running_mailbox

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
ACK_URL = re.compile(r"https?://\S+/ack/[0-9a-f.]+")
MAIL_WITHIN_S = 30

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[Stack]:
    mail = {"WARROOM_SMTP_HOST": "127.0.0.1", "WARROOM_SMTP_PORT": str(mailbox.port)}
    yield from running_stack(tmp_path_factory, "web-ack-e2e", mail)  # `run` serves with a worker


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    yield from playwright_browser()


@pytest.fixture(scope="module")
def intake(stack: Stack) -> str:
    """The first admin paged by email through a policy on a new service; returns that service's intake URL."""
    with stack.api() as api:
        method = api.post("/api/v1/me/contact-methods", json={"kind": "email", "address": "oncall@e2e.test"})
        assert method.status_code == 201, method.text
        rule = {"contact_method": method.json()["id"], "delay_seconds": 0, "urgency": "high"}
        assert api.post("/api/v1/me/notification-rules", json=rule).status_code == 201
        service = {"slug": "mail-e2e", "name": "Mail e2e"}
        assert api.post("/api/v1/services", json=service).status_code == 201
        step = {"delay_seconds": 0, "targets": [{"type": "user", "ref": stack.admin_email}]}
        policy = {"slug": "mail-e2e", "name": "Mail e2e", "services": ["mail-e2e"], "steps": [step]}
        assert api.post("/api/v1/escalation-policies", json=policy).status_code == 201, "policy"
        made = api.post("/api/v1/integrations", json={"kind": "webhook", "service": "mail-e2e"})
        assert made.status_code == 201, made.text
        return f"{stack.url}/intake/webhook/{made.json()['key']}"


def mailed_ack_url(box: Mailbox, title: str) -> str:
    """Wait for the page mail about `title`; return the ack link in its body."""
    deadline = time.monotonic() + MAIL_WITHIN_S
    while time.monotonic() < deadline:
        for received in box.messages:
            if title in str(received.mail["Subject"]):
                body = received.body
                found = ACK_URL.search(body)
                assert found, body
                return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no mail about {title!r} within {MAIL_WITHIN_S} s: {len(box.messages)} others")


def sign_in(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.url}/login")
    page.fill("#f-email", stack.admin_email)
    page.fill("#f-password", stack.admin_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")


@pytest.mark.parametrize("size_name", list(SIZES))
def test_acknowledge_from_the_emailed_link(
    stack: Stack, browser: Any, mailbox: Mailbox, intake: str, size_name: str
) -> None:
    title = f"Mail e2e {size_name} database down"
    event = {"id": f"mail-{size_name}", "title": title, "severity": "critical"}
    assert httpx.post(intake, json=event, timeout=10).status_code == 202
    url = mailed_ack_url(mailbox, title)
    assert url.startswith(stack.url), (url, stack.url)
    context = browser.new_context(viewport=SIZES[size_name])
    page = context.new_page()
    shots = Shots(size_name)
    try:
        response = page.goto(url)
        assert response is not None and response.status == 200
        assert title in page.inner_text("body") and "triggered" in page.inner_text("body")
        no_sideways_scroll(page)
        shots.take(page, "ack-confirm")
        page.get_by_role("button", name=re.compile("Acknowledge")).click()
        page.wait_for_load_state()
        assert "Acknowledged by" in page.inner_text("body")
        no_sideways_scroll(page)
        shots.take(page, "ack-done")
        sign_in(page, stack)
        page.goto(f"{stack.url}/alerts?status=acknowledged")
        row = page.locator("li", has_text=title).first
        assert "acknowledged" in row.inner_text().lower()
        no_sideways_scroll(page)
        shots.take(page, "ack-alerts")
    finally:
        context.close()
