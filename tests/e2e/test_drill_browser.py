"""A drill in a real browser against `warroom run`: an admin schedules a game day from a shipped scenario,
the worker fires it through the real intake, and the admin reads its report. Screenshots under tmp_path."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser_helpers import Stack, playwright_browser, running_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "drill-e2e")


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    yield from playwright_browser()


def _wait_fired(stack: Stack, drill_id: int) -> dict[str, Any]:
    with stack.api() as api:
        for _ in range(60):
            run: dict[str, Any] = next(r for r in api.get("/api/v1/drills").json() if r["id"] == drill_id)
            if run["fired"]:
                return run
            time.sleep(0.5)
    raise AssertionError(f"drill {drill_id} never fired")


def test_start_a_drill_and_read_its_report(stack: Stack, browser: Any, tmp_path: Path) -> None:
    with stack.api() as api:
        made = api.post(
            "/api/v1/integrations", json={"kind": "pagerduty", "service": "checkout", "name": "checkout"}
        )
        assert made.status_code == 201, made.text
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{stack.url}/login")
    page.fill("#f-email", stack.admin_email)
    page.fill("#f-password", stack.admin_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")
    page.goto(f"{stack.url}/drills")
    page.select_option("#scenario", "checkout-bad-deploy")
    page.select_option("#mode", "game_day")
    page.fill("#starts_at", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    page.screenshot(path=str(tmp_path / "drill-start.png"), full_page=True)
    page.click("#start-drill button[type=submit]")
    page.wait_for_url(f"{stack.url}/drills/*")
    drill_id = int(page.url.rsplit("/", 1)[1])
    run = _wait_fired(stack, drill_id)
    assert run["mode"] == "game_day"
    page.reload()
    assert "Checkout outage after a bad deploy" in page.inner_text("h1")
    assert page.locator("#drill-report, #drill-report-empty").count() == 1
    page.screenshot(path=str(tmp_path / "drill-report.png"), full_page=True)
    with stack.api() as api:
        alerts = api.get("/api/v1/alerts").json()["items"]
    assert "drill-checkout-5xx" in [a["dedup_key"] for a in alerts]
    assert (tmp_path / "drill-report.png").stat().st_size > 0
    page.goto(f"{stack.url}/drills")  # the trends: this drill once its alert reached an incident
    assert page.locator("#team option").count() >= 1
    assert page.locator("#drill-trends-scenario, #drill-trends-empty").count() == 1
    page.screenshot(path=str(tmp_path / "drill-trends.png"), full_page=True)
