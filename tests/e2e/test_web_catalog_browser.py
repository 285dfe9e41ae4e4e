"""The part-2 pages in a real browser against a real `warroom run` on the demo data, at desktop and phone
sizes: each renders without sideways scrolling and is saved as a screenshot under tests/artifacts/web/ for a
person to look at; the copy button puts an integration's key on the clipboard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser_helpers import (
    Shots,
    Stack,
    browser_or_skip,
    nav_links_in_view,
    no_sideways_scroll,
    playwright_browser,
    stack_of,
)
from tests.process import running_server

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
PAGES = {
    "incidents": "/incidents",
    "services": "/services",
    "integrations": "/integrations",
    "policies": "/policies",
    "notifications": "/me/notifications",
    "admin-users": "/admin/users",
    "admin-teams": "/admin/teams",
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    browser_or_skip()
    root = tmp_path_factory.mktemp("web-catalog-e2e")
    env = {"WARROOM_DATA_DIR": str(root / "var"), "WARROOM_LOG_LEVEL": "warning"}
    with running_server(env, ("run",), log_dir=root / "logs") as server:
        yield stack_of(server)


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    yield from playwright_browser()


def sign_in(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.url}/login")
    page.fill("#f-email", stack.admin_email)
    page.fill("#f-password", stack.admin_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")


@pytest.mark.parametrize("size_name", list(SIZES))
def test_new_pages_render_at_each_size(stack: Stack, browser: Any, size_name: str) -> None:
    context = browser.new_context(viewport=SIZES[size_name])
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.url)
    page = context.new_page()
    shots = Shots(size_name)
    try:
        sign_in(page, stack)
        for name, path in PAGES.items():
            response = page.goto(f"{stack.url}{path}")
            assert response is not None and response.status == 200, path
            no_sideways_scroll(page)
            nav_links_in_view(page)
            shots.take(page, f"p2-{name}")
        page.goto(f"{stack.url}/integrations")
        page.locator("[data-copy^=key-]").first.click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == stack.intake_key or len(copied) == 32
        page.locator("a.row-title, h2 a").first  # noqa: B018
        page.goto(f"{stack.url}/policies")
        first = page.locator("h2 a").first
        first.click()
        no_sideways_scroll(page)
        shots.take(page, "p2-policy-detail")
    finally:
        context.close()
