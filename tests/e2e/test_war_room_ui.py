"""The war room at 3 AM (issue #19) in Debian's Chromium against `warroom run`, at 1280x800 and 390x844, in
light and dark mode: a refused action says why above the fold and the address stays the page's (1); the
response clock of an unacknowledged incident is in sight, with units (2); an alert's detail is one click
from the list (3); the summary comes before the timeline and "Take command" is one button (4); the header
is one row on a desktop and search finds the incident (5); policies and schedules are made in the editors,
whose refusals also say why at the top (8). Screenshots in tests/artifacts/web/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.browser_helpers import Shots, Stack, no_sideways_scroll, playwright_browser, running_stack

pytestmark = pytest.mark.slow
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LOOKS = [(size, scheme) for size in SIZES for scheme in ("light", "dark")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "war-room-ui")


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    yield from playwright_browser()


def above_the_fold(page: Any, selector: str) -> None:
    """Visible without scrolling: the element starts inside the first screen."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    height = page.viewport_size["height"]
    assert -2 <= box["y"] < height, f"{selector} starts at {box['y']:.0f} px, outside the {height} px screen"


def sign_in(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.url}/login")
    page.fill("#f-email", stack.admin_email)
    page.fill("#f-password", stack.admin_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")


def declare(stack: Stack, title: str) -> str:
    with stack.api() as api:
        made = api.post(
            "/api/v1/incidents", json={"title": title, "severity": "P1", "services": ["checkout"]}
        )
        assert made.status_code == 201, made.text
        return str(made.json()["ref"])


@pytest.mark.parametrize(("size_name", "scheme"), LOOKS)
def test_the_war_room_at_3_am(stack: Stack, browser: Any, size_name: str, scheme: str) -> None:
    context = browser.new_context(viewport=SIZES[size_name], color_scheme=scheme)
    page, shots = context.new_page(), Shots(f"{size_name}-{scheme}")
    try:
        sign_in(page, stack)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        channels = [int(c) for c in background.removeprefix("rgb(").rstrip(")").split(",")[:3]]
        assert (sum(channels) / 3 < 80) is (scheme == "dark"), background  # the dark palette is in use
        if size_name == "desktop":  # item 5: the admin's links fit one row at 1280 px
            assert page.evaluate("document.querySelector('header').getBoundingClientRect().height") < 70
        ref = declare(stack, f"Checkout down ({size_name}, {scheme})")
        incident_page(page, stack, shots, ref)
        alert_detail(page, stack, shots, f"{size_name}-{scheme}")
        search(page, stack, ref)
        editors(page, stack, shots, f"{size_name}-{scheme}")
        for path in (f"/incidents/{ref}", "/policies", "/schedules", "/integrations", "/admin/sso"):
            page.goto(f"{stack.url}{path}")
            no_sideways_scroll(page)
    finally:
        context.close()


def incident_page(page: Any, stack: Stack, shots: Shots, ref: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.url}/incidents/{ref}")
    clock = page.locator("#inc-header .clock").first
    expect(clock).to_contain_text("min")  # item 2: units, not "12:24"
    above_the_fold(page, "#inc-header .clock")
    above_the_fold(page, "#take-command button")  # item 4: one button for the signed-in person
    about, timeline = page.locator("section.about").bounding_box(), page.locator("#timeline").bounding_box()
    assert about is not None and timeline is not None and about["y"] < timeline["y"]
    shots.take(page, "incident-unacknowledged", full_page=False)
    # Item 1: a refused phase move (a P1 needs its roles first) says why at the top, at the incident's URL.
    details = page.locator("details.action", has=page.locator("summary", has_text="Move to another phase"))
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    page.get_by_label("Next phase").select_option("review")
    page.get_by_role("button", name="Move phase").click()
    expect(page.locator("#refused")).to_contain_text("Not done")
    assert page.url.split("#")[0] == f"{stack.url}/incidents/{ref}"
    above_the_fold(page, "#refused")
    shots.take(page, "incident-refused", full_page=False)


def alert_detail(page: Any, stack: Stack, shots: Shots, look: str) -> None:
    from playwright.sync_api import expect

    summary = f"Payments API latency high ({look})"
    stack.trigger_alert(f"latency-{look}", summary)
    page.goto(f"{stack.url}/alerts")
    page.get_by_role("link", name=summary).click()  # item 3: the row is a link to the detail
    page.wait_for_url(f"{stack.url}/alerts/*")
    expect(page.locator("main")).to_contain_text(summary)
    expect(page.locator("main")).to_contain_text("paged")
    shots.take(page, "alert-detail")


def search(page: Any, stack: Stack, ref: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.url}/search?q={ref}")
    expect(page.locator("main")).to_contain_text(ref)


def editors(page: Any, stack: Stack, shots: Shots, look: str) -> None:
    """Item 8: a policy and a schedule made in the editors; a refusal is said at the top of the page."""
    from playwright.sync_api import expect

    slug = f"night-{look}"
    page.goto(f"{stack.url}/policies")
    form = page.locator("#new-policy")
    form.get_by_label("Slug").fill(slug)
    form.get_by_label("Name", exact=True).fill(f"Night {look}")
    form.get_by_role("button", name="Create policy").click()  # nobody chosen for step 1: refused
    expect(page.locator("#refused")).to_contain_text("choose who to page")
    above_the_fold(page, "#refused")
    shots.take(page, "policy-refused", full_page=False)
    form = page.locator("#new-policy")
    form.locator("#new-policy-step-0-targets").select_option(index=0)
    form.get_by_role("button", name="Create policy").click()
    page.wait_for_url(f"{stack.url}/policies/{slug}")
    expect(page.locator(".flash")).to_contain_text("created")
    shots.take(page, "policy-created")

    page.goto(f"{stack.url}/schedules")
    form = page.locator("#new-schedule")
    form.get_by_label("Slug").fill(f"sched-{look}")
    form.get_by_label("Name", exact=True).fill(f"Schedule {look}")
    start = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    form.get_by_label("First handoff (rotation's time zone)").fill(start)
    form.get_by_role("button", name="Create schedule").click()  # nobody takes turns: refused
    expect(page.locator("#refused")).to_contain_text("choose who takes turns")
    above_the_fold(page, "#refused")
    form = page.locator("#new-schedule")
    form.locator("#new-schedule-participant-0").select_option(index=1)
    form.locator("#new-schedule-participant-1").select_option(index=2)
    form.get_by_role("button", name="Create schedule").click()
    expect(page.locator(".flash")).to_contain_text(f"Schedule {look} created")
    shots.take(page, "schedule-created")
