"""The part-2 pages in a real browser against a real `warroom run` on the demo data, at desktop and phone
sizes: each renders without sideways scrolling and is saved as a screenshot under tests/artifacts/web/ for a
person to look at; the copy button puts an integration's key on the clipboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser_helpers import (
    Shots,
    Stack,
    nav_links_in_view,
    no_sideways_scroll,
    playwright_browser,
    running_stack,
)

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
PAGES = {
    "incidents": "/incidents",
    "services": "/services",
    "integrations": "/integrations",
    "policies": "/policies",
    "notifications": "/me/notifications",
    "admin-users": "/admin/users",
    "admin-teams": "/admin/teams",
    "metrics": "/reports",
    "stakeholders": "/stakeholders",
    "status-page-admin": "/status-page",
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "web-catalog-e2e")


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
        page.goto(f"{stack.url}/policies")
        first = page.locator("h2 a").first
        detail = first.get_attribute("href")
        assert detail and detail.startswith("/policies/"), detail
        # Wait for the policy's page itself: measuring while the click's navigation is under way reads a
        # document that is being replaced.
        with page.expect_navigation(url=f"{stack.url}{detail}", wait_until="load"):
            first.click()
        no_sideways_scroll(page)
        shots.take(page, "p2-policy-detail")
    finally:
        context.close()


def test_a_review_is_curated_and_published_in_the_browser(stack: Stack, browser: Any) -> None:
    """Resolve an incident, then in the browser: mark a key moment, hide a line, add a note, write the five
    whys, name a reviewer, ask for review and publish; the published page is read-only. The demo's closed
    incident shows its own published review."""
    from playwright.sync_api import expect

    with stack.api() as api:
        made = api.post("/api/v1/incidents", json={"title": "Search is slow", "severity": "P3"})
        ref = made.json()["ref"]
        me = api.get("/api/v1/me").json()["email"]  # a P3 needs its commander before it resolves
        commander = {"role": "incident_commander", "user": me}
        assert api.post(f"/api/v1/incidents/{ref}/roles", json=commander).status_code == 200
        assert api.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "fixed"}).status_code == 200
    context = browser.new_context(viewport=SIZES["desktop"])
    page = context.new_page()
    shots = Shots("desktop")
    try:
        sign_in(page, stack)
        page.goto(f"{stack.url}/incidents/{ref}")
        page.click("#review-link")
        expect(page.locator("#review-status")).to_have_text("draft")
        page.locator("#line-1 button[value=highlight]").click()
        expect(page.locator("#line-1")).to_have_class(re.compile(r"\bkey\b"))
        page.locator("#line-2 button[value=hide]").click()
        expect(page.locator("#line-2")).to_contain_text("hidden")
        page.fill("#note-at", "2026-01-05T09:30")
        page.fill("#note-text", "Index rebuild started")
        page.click("#note-add")
        expect(page.locator(".review-timeline li").first).to_contain_text("Index rebuild started")
        page.fill("#r-five_whys", "Why slow? Rebuild\nWhy a rebuild? Nightly job ran late")
        page.click("#review-save")
        page.fill("#reviewer-user", stack.watcher_email)
        page.click("#reviewer-add")
        expect(page.locator("#reviewers")).to_contain_text(stack.watcher_email)
        page.click("#status-in_review")
        expect(page.locator("#review-status")).to_have_text("in review")
        page.click("#status-published")
        expect(page.locator("#review-status")).to_have_text("published")
        expect(page.locator("#five-whys li")).to_have_count(2)
        expect(page.locator("#r-five_whys")).to_have_count(0)  # read-only now
        no_sideways_scroll(page)
        shots.take(page, "review-published")
        page.goto(f"{stack.url}/incidents/INC-1/review")  # the demo's closed incident
        expect(page.locator("#review-status")).to_have_text("published")
        expect(page.locator("#action-items")).to_contain_text("overdue")
        shots.take(page, "review-demo")
    finally:
        context.close()
