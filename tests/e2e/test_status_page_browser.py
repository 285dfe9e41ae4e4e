"""The public status page in a real browser with JavaScript off, against a real `warroom run` on the demo
data, at phone and desktop sizes: no sideways scroll, the phone shows the last 30 days of bars, the desktop
90; screenshots of the page, an incident and the history go to tests/artifacts/web/ for a person to see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser_helpers import (
    Shots,
    Stack,
    no_sideways_scroll,
    playwright_browser,
    running_stack,
)

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
VISIBLE_BARS = "[...document.querySelector('.bars').children].filter(bar => bar.offsetWidth > 0).length"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "status-page-e2e")


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    yield from playwright_browser()


def test_the_public_page_without_javascript(stack: Stack, browser: Any) -> None:
    for size_name, viewport in SIZES.items():
        context = browser.new_context(java_script_enabled=False, viewport=viewport)
        try:
            page = context.new_page()
            shots = Shots(f"status-{size_name}")
            page.goto(f"{stack.url}/status")
            assert page.locator(".banner").inner_text() == "All Systems Operational"
            assert page.locator(".group summary").count() == 2  # Shop, Platform
            assert page.get_by_text("Checkout errors").count() >= 1  # six days ago, in the past incidents
            assert page.get_by_text("Search index rebuild").count() == 1  # upcoming maintenance
            no_sideways_scroll(page)
            assert page.evaluate(VISIBLE_BARS) == (30 if size_name == "phone" else 90)
            shots.take(page, "page")
            page.get_by_role("link", name="Checkout errors").first.click()
            assert page.locator("h1").inner_text() == "Checkout errors"
            assert page.locator(".updates li").count() == 4
            no_sideways_scroll(page)
            shots.take(page, "incident")
            page.goto(f"{stack.url}/status/history")
            no_sideways_scroll(page)
            shots.take(page, "history")
            page.goto(f"{stack.url}/status")
            page.fill("#subscribe-email", "not-an-address@")
            page.locator("#subscribe-email").evaluate("e => e.type = 'text'")  # past the browser's own check
            page.click(".subscribe button[type=submit]")
            assert "Enter an email address" in page.locator(".notice.error").inner_text()
            no_sideways_scroll(page)
            shots.take(page, "subscribe-refused", full_page=False)
        finally:
            context.close()
