"""The war room in a real browser against a real `warroom run`, at desktop and phone sizes: sign in (by
keyboard), declare a P1 and see it on a second person's dashboard within 2 s with no reload, assign a
commander, post an update that appears live on the second person's incident page, move phases, acknowledge
an alert from the alerts page, and add a schedule override and see who is on call change. Each page is
saved as a screenshot under tests/artifacts/web/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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
LIVE_WITHIN_MS = 2000


def cover(size_name: str, stack: Stack) -> tuple[str, str]:
    """Who takes over the demo schedule in each run (one server serves both, so each names someone new)."""
    return (
        (stack.watcher_email, "Wanda Watcher")
        if size_name == "desktop"
        else ("carol@demo.warroom", "Carol Mendes")
    )


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "web-e2e")


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    yield from playwright_browser()


def sign_in_by_keyboard(page: Any, stack: Stack, email: str, password: str) -> None:
    page.goto(f"{stack.url}/")
    assert page.url.startswith(f"{stack.url}/login?next=")
    for _ in range(6):  # skip link, brand, then the first field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-email":
            break
    assert page.evaluate("document.activeElement.id") == "f-email", "the email field is not reachable by Tab"
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{stack.url}/")


def wait_live(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#live-status")).to_have_text("live", timeout=10_000)


def open_action(page: Any, summary: str) -> None:
    details = page.locator("details.action", has=page.locator("summary", has_text=summary))
    if details.get_attribute("open") is None:
        details.locator("summary").click()


@pytest.mark.parametrize("size_name", list(SIZES))
def test_the_war_room_flow(stack: Stack, browser: Any, size_name: str) -> None:
    from playwright.sync_api import expect

    size = SIZES[size_name]
    shots = Shots(size_name)
    me_context = browser.new_context(viewport=size)
    watcher_context = browser.new_context(viewport=size)
    try:
        me, watcher = me_context.new_page(), watcher_context.new_page()
        errors: list[str] = []
        for page in (me, watcher):
            page.on("pageerror", lambda error: errors.append(str(error)))

        me.goto(f"{stack.url}/login")
        shots.take(me, "login", full_page=False)
        sign_in_by_keyboard(me, stack, stack.admin_email, stack.admin_password)
        sign_in_by_keyboard(watcher, stack, stack.watcher_email, stack.watcher_password)
        if size_name == "desktop":  # the admin's ten links and buttons fit one row at 1280 px
            assert me.evaluate("document.querySelector('header').getBoundingClientRect().height") < 70
        wait_live(watcher)
        shots.take(watcher, "dashboard-viewer")
        expect(watcher.get_by_role("link", name="Declare")).to_have_count(
            0
        )  # a viewer gets no write controls

        title = f"Checkout is down ({size_name})"
        ref = declare_p1(me, stack, shots, title)
        started = time.monotonic()
        expect(watcher.locator("#dash-open")).to_contain_text(title, timeout=LIVE_WITHIN_MS)
        seen_after = time.monotonic() - started
        assert seen_after < LIVE_WITHIN_MS / 1000, seen_after
        expect(watcher.locator("#dash-open")).to_contain_text("P1")
        shots.take(watcher, "dashboard-live")

        watcher.goto(f"{stack.url}/incidents/{ref}")
        wait_live(watcher)
        run_the_war_room(me, watcher, stack, shots, ref)
        acknowledge_from_alerts_page(me, stack, shots, size_name)
        override_the_schedule(me, stack, shots, *cover(size_name, stack))

        for path in ("/", f"/incidents/{ref}", "/alerts", "/declare", "/procedure", "/account"):
            me.goto(f"{stack.url}{path}")
            no_sideways_scroll(me)
        shots.take(me, "account")
        me.goto(f"{stack.url}/procedure")
        shots.take(me, "procedure", full_page=False)
        assert errors == [], errors
    finally:
        me_context.close()
        watcher_context.close()


def declare_p1(me: Any, stack: Stack, shots: Shots, title: str) -> str:
    from playwright.sync_api import expect

    me.goto(f"{stack.url}/")
    me.get_by_role("link", name="Declare").click()
    me.wait_for_url(f"{stack.url}/declare")
    me.get_by_role("button", name="Declare incident").click()  # nothing chosen: refused, field by field
    expect(me.locator("#f-title-error")).to_have_text("is required")
    expect(me.locator("#f-severity-error")).to_have_text("choose a severity")
    shots.take(me, "declare-refused")
    me.get_by_label("What is happening?").fill(title)
    me.locator("label.choice", has_text="P1 Critical").click()
    me.get_by_role("checkbox", name="Checkout", exact=True).check()
    me.get_by_label("Summary (optional)").fill("All card payments fail with 502.")
    shots.take(me, "declare")
    me.get_by_role("button", name="Declare incident").click()
    me.wait_for_url(f"{stack.url}/incidents/INC-*")
    ref = str(me.url).rsplit("/", 1)[1]
    expect(me.locator("#inc-header")).to_contain_text(title)
    expect(me.locator(".flash")).to_have_text(f"{ref} declared")
    return ref


def run_the_war_room(me: Any, watcher: Any, stack: Stack, shots: Shots, ref: str) -> None:
    from playwright.sync_api import expect

    shots.take(me, "incident-declared")
    open_action(me, "Assign a role")
    me.get_by_label("Role", exact=True).select_option("incident_commander")
    me.get_by_label("Person (name or email)").fill("Administrator")  # picked by name, not typed as an email
    me.get_by_role("button", name="Assign", exact=True).click()
    expect(me.locator(".flash")).to_have_text("Role assigned")
    expect(me.locator("#inc-header .roles")).to_contain_text("Incident commander · required Administrator")
    expect(me.locator("#inc-header")).to_contain_text("target met")  # assigning acknowledged it
    expect(watcher.locator("#timeline")).to_contain_text(
        "Incident commander assigned to Administrator", timeout=LIVE_WITHIN_MS
    )

    update = "Rolled back deploy 4812; error rate falling."
    me.get_by_label("Text").fill(update)
    me.get_by_role("button", name="Post", exact=True).click()
    expect(me.locator("#timeline li").first).to_contain_text(update)
    expect(watcher.locator("#timeline li").first).to_contain_text(update, timeout=LIVE_WITHIN_MS)

    for target, name in (("containment", "Containment"), ("recovery", "Recovery")):
        open_action(me, "Move to another phase")
        me.get_by_label("Next phase").select_option(target)
        me.get_by_label("Reason (needed when exit criteria are unticked)").fill(f"into {target}")
        me.get_by_role("button", name="Move phase").click()
        expect(me.locator("#inc-header .phase-steps .current")).to_have_text(name)
        expect(watcher.locator("#inc-header .phase-steps .current")).to_have_text(
            name, timeout=LIVE_WITHIN_MS
        )
    shots.take(me, "incident-recovery")
    shots.take(watcher, "incident-viewer-live")


def acknowledge_from_alerts_page(me: Any, stack: Stack, shots: Shots, size_name: str) -> None:
    from playwright.sync_api import expect

    summary = f"Payments API latency high ({size_name})"
    stack.trigger_alert(f"latency-{size_name}", summary)
    me.goto(f"{stack.url}/alerts")
    row = me.locator(".rows > li", has_text=summary)
    expect(row).to_contain_text("triggered")
    shots.take(me, "alerts")
    alert_id = row.get_attribute("id").removeprefix("alert-")
    row.get_by_role("button", name=f"Acknowledge alert #{alert_id}").click()
    expect(me.locator(".flash")).to_have_text(f"Alert #{alert_id} acknowledged")
    expect(me.locator(f"#alert-{alert_id}")).to_contain_text("acknowledged")
    with stack.api() as api:
        alert = api.get(f"/api/v1/alerts/{alert_id}").json()
    assert alert["status"] == "acknowledged" and alert["acknowledged_by"] == stack.admin_email
    shots.take(me, "alerts-acknowledged")


def override_the_schedule(me: Any, stack: Stack, shots: Shots, email: str, name: str) -> None:
    """The demo's "Payments on call" schedule is in UTC, so the form's local times are UTC here."""
    from playwright.sync_api import expect

    me.goto(f"{stack.url}/schedules")
    section = me.locator("#schedule-payments-oncall")
    expect(section).not_to_contain_text(f"On call now: {name}")
    shots.take(me, "schedules")
    section.locator("summary", has_text="Add an override").click()
    now = datetime.now(UTC)
    section.get_by_label("Who covers").fill(email)
    section.get_by_label("From (UTC time)").fill((now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    section.get_by_label("Until (UTC time)").fill((now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    section.get_by_role("button", name="Add override").click()
    expect(me.locator(".flash")).to_have_text("Override added to Payments on call")
    expect(me.locator("#schedule-payments-oncall")).to_contain_text(f"On call now: {name}")
    expect(me.locator("#schedule-payments-oncall")).to_contain_text("(override)")
    shots.take(me, "schedules-override")


def test_a_restricted_incident_for_a_participant_and_for_everyone_else(stack: Stack, browser: Any) -> None:
    """A security P1 (restricted by its type) as a participant sees it, with the admin's list of who was let
    in; and as a viewer who is not a participant: the same 404 as an incident that does not exist."""
    from playwright.sync_api import expect

    title = "Attacker has domain admin creds"
    with stack.api() as api:
        person = {
            "email": "pat@e2e.warroom",
            "name": "Pat Analyst",
            "role": "responder",
            "password": "pat pat pat",
        }
        assert api.post("/api/v1/users", json=person).status_code == 201
        declared = api.post("/api/v1/incidents", json={"title": title, "severity": "P1", "type": "security"})
        assert declared.status_code == 201 and declared.json()["restricted"] is True, declared.text
        ref = declared.json()["ref"]
        added = api.post(f"/api/v1/incidents/{ref}/participants", json={"user": person["email"]})
        assert added.status_code == 201, added.text
    shots = Shots("desktop")
    contexts = [browser.new_context(viewport=SIZES["desktop"]) for _ in range(3)]
    try:
        admin, participant, outsider = (context.new_page() for context in contexts)
        sign_in_by_keyboard(admin, stack, stack.admin_email, stack.admin_password)
        admin.goto(f"{stack.url}/incidents/{ref}")
        open_action(admin, "Who can see it")
        expect(admin.locator("#participants")).to_contain_text("Pat Analyst")
        shots.take(admin, "restricted-admin")
        sign_in_by_keyboard(participant, stack, person["email"], person["password"])
        participant.goto(f"{stack.url}/incidents/{ref}")
        expect(participant.locator("h1")).to_contain_text(title)
        expect(participant.locator("#restricted-note")).to_be_visible()
        shots.take(participant, "restricted-participant")
        sign_in_by_keyboard(outsider, stack, stack.watcher_email, stack.watcher_password)
        expect(outsider.locator("main")).not_to_contain_text(title)
        shown = outsider.goto(f"{stack.url}/incidents/{ref}")
        assert shown is not None and shown.status == 404
        said = outsider.locator("main").inner_text()
        assert title not in outsider.content() and f"no incident {ref}" in said
        shots.take(outsider, "restricted-outsider-404")
        missing = outsider.goto(f"{stack.url}/incidents/INC-99999")
        assert missing is not None and missing.status == 404
        assert outsider.locator("main").inner_text() == said.replace(ref, "INC-99999")
    finally:
        for context in contexts:
            context.close()


def test_one_acknowledge_owns_the_incident_and_its_alert(stack: Stack, browser: Any) -> None:
    """The incident page has one Acknowledge: pressing it stops the response clock, acknowledges the alert
    that came with the incident, and the header says who acknowledged and when."""
    from playwright.sync_api import expect

    stack.trigger_alert("one-ack-db", "Primary database unreachable")
    with stack.api() as api:
        declared = api.post("/api/v1/incidents", json={"title": "Database down", "severity": "P3"})
        ref = declared.json()["ref"]
        assert api.post("/api/v1/alerts/one-ack-db/attach", json={"incident": ref}).status_code == 200
    context = browser.new_context(viewport=SIZES["desktop"])
    try:
        page = context.new_page()
        sign_in_by_keyboard(page, stack, stack.admin_email, stack.admin_password)
        page.goto(f"{stack.url}/incidents/{ref}")
        buttons = page.get_by_role("button", name=re.compile("^Acknowledge"))
        expect(buttons).to_have_count(1)
        buttons.click()
        expect(page.locator("#acknowledged-by")).to_contain_text("by Administrator")
        expect(page.get_by_role("button", name=re.compile("^Acknowledge"))).to_have_count(0)
        expect(page.locator("#inc-alerts")).to_contain_text("acknowledged")
        Shots("desktop").take(page, "one-acknowledge")
    finally:
        context.close()
    with stack.api() as api:
        assert api.get("/api/v1/alerts/one-ack-db").json()["status"] == "acknowledged"


def test_the_guided_phase_checklist_and_a_playbook_gate(stack: Stack, browser: Any) -> None:
    """A ransomware P1 shows its phase's owner and exit checklist at the top: ticking is one click, moving on
    with one unticked is refused at the top of the page until a reason is given, and a gated step holds
    containment until the commander waives it with a reason."""
    from playwright.sync_api import expect

    with stack.api() as api:
        body = {"title": "Files encrypted on fs-01", "severity": "P1", "type": "ransomware"}
        declared = api.post("/api/v1/incidents", json=body)
        assert declared.status_code == 201, declared.text
        ref = declared.json()["ref"]
        me = api.get("/api/v1/me").json()["email"]
        assert api.post(
            f"/api/v1/incidents/{ref}/roles", json={"role": "incident_commander", "user": me}
        ).is_success
    shots = Shots("desktop")
    context = browser.new_context(viewport=SIZES["desktop"])
    try:
        page = context.new_page()
        sign_in_by_keyboard(page, stack, stack.admin_email, stack.admin_password)
        page.goto(f"{stack.url}/incidents/{ref}")
        guide = page.locator("#inc-guide")
        expect(guide.locator("h2")).to_contain_text("Triage")
        expect(page.locator("#guide-owner")).to_contain_text("On-call engineer")
        for criterion in ("Impact and affected", "Severity is set"):
            page.get_by_role("button", name=re.compile(f"^Tick: {criterion}")).click()
            expect(page.get_by_role("button", name=re.compile(f"^Untick: {criterion}"))).to_have_attribute(
                "aria-pressed", "true"
            )
        shots.take(page, "guide-triage")
        open_action(page, "Move to another phase")
        page.select_option("#phase-phase", "containment")
        page.locator("#phase form button[type=submit]").click()
        expect(page.locator("#refused")).to_contain_text("1 exit criterion of Triage is not ticked")
        shots.take(page, "guide-refused", full_page=False)
        open_action(page, "Move to another phase")
        page.select_option("#phase-phase", "containment")
        page.fill("#phase-reason", "first internal update is going out now")
        page.locator("#phase form button[type=submit]").click()
        expect(guide.locator("h2")).to_contain_text("Containment")
        expect(page.locator("#open-gates")).to_contain_text("Isolate affected hosts")
        expect(page.locator("#guide-owner")).to_contain_text("Technical lead")
        open_action(page, "Move to another phase")
        page.select_option("#phase-phase", "eradication")
        page.fill("#phase-reason", "moving on")
        page.locator("#phase form button[type=submit]").click()
        expect(page.locator("#refused")).to_contain_text("gated playbook step(s) must be done")
        for step in ("Isolate affected hosts", "Capture memory"):
            row = page.locator("#inc-tasks li", has_text=step)
            row.locator("summary", has_text="Start, record, waive").click()
            row.locator("input[name=reason]").fill("hosts were reimaged by the MSP before we were called")
            row.get_by_role("button", name="Waive").click()
            expect(page.locator("#inc-tasks li", has_text=step)).to_contain_text("Waived by")
        expect(page.locator("#open-gates")).to_have_count(0)
        shots.take(page, "guide-gates-waived")
    finally:
        context.close()
