"""Debian's Chromium driven by Playwright's Python package, against a real `warroom run` process.

Chromium is launched with the flags that keep it off the network (this machine refuses outside traffic, and
Chromium otherwise keeps trying). Without /usr/bin/chromium the browser tests skip with the reason, unless
WARROOM_REQUIRE_BROWSER=1 (CI), where they fail. Screenshots go to tests/artifacts/web/ (git-ignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.process import ServerProcess, running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).parent.parent / "artifacts" / "web"
FIRST_RUN = re.compile(r"email:\s+(\S+)\s+password:\s+(\S+)\s+token:\s+(wr_\S+)")
INTAKE_KEY = re.compile(r"routing key (\S+)")


def browser_or_skip() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium chromium-driver; `make test` does)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing (pip install -e '.[dev]')"
    if problem is None:
        return
    if os.environ.get("WARROOM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"WARROOM_REQUIRE_BROWSER=1 but {problem}")
    pytest.skip(problem)


@dataclass(frozen=True)
class Stack:
    """A running `warroom run` with its first admin, a second (viewer) account and an intake key."""

    server: ServerProcess
    admin_email: str
    admin_password: str
    admin_token: str
    watcher_email: str
    watcher_password: str
    intake_key: str

    @property
    def url(self) -> str:
        return self.server.url

    def api(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def trigger_alert(self, dedup_key: str, summary: str) -> None:
        event: dict[str, Any] = {
            "routing_key": self.intake_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {"summary": summary, "source": "e2e", "severity": "error"},
        }
        response = httpx.post(f"{self.url}/v2/enqueue", json=event, timeout=10)
        assert response.status_code == 202, response.text


def stack_of(server: ServerProcess) -> Stack:
    stdout = server.stdout()
    found = FIRST_RUN.search(stdout)
    key = INTAKE_KEY.search(stdout)
    assert found and key, stdout
    email, password, token = found.groups()
    watcher = ("watcher@e2e.warroom", "watching closely")
    created = httpx.post(
        f"{server.url}/api/v1/users",
        json={"email": watcher[0], "name": "Wanda Watcher", "role": "viewer", "password": watcher[1]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return Stack(server, email, password, token, watcher[0], watcher[1], key.group(1))


def running_stack(
    tmp_path_factory: pytest.TempPathFactory, name: str, env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """`warroom run` (migrations, first admin, demo data, a worker) on a fresh data dir, for one test module;
    skips (or fails in CI) without the browser."""
    browser_or_skip()
    root = tmp_path_factory.mktemp(name)
    base = {"WARROOM_DATA_DIR": str(root / "var"), "WARROOM_LOG_LEVEL": "warning"}
    with running_server({**base, **(env or {})}, ("run",), log_dir=root / "logs") as server:
        yield stack_of(server)


class Shots:
    """Screenshots named by viewport and step, for a person to look at."""

    def __init__(self, size_name: str) -> None:
        self.size_name = size_name
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(self, page: Any, step: str, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{self.size_name}-{step}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


def no_sideways_scroll(page: Any) -> None:
    """Readable at the viewport's width: nothing pushes the page wider than the screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    if width > viewport:
        culprits = page.evaluate(WIDE_ELEMENTS, viewport)
        raise AssertionError(f"{page.url} is {width}px wide in a {viewport}px viewport; too wide: {culprits}")


# The innermost elements whose right edge passes the viewport: what to fix when a page scrolls sideways.
WIDE_ELEMENTS = """(viewport) => {
  const wide = [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > viewport + 1);
  const innermost = wide.filter(e => ![...e.children].some(c => wide.includes(c)));
  innermost.sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right);
  return innermost.slice(0, 5).map(e => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}` +
    `${e.className ? "." + String(e.className).split(" ").join(".") : ""} ` +
    `(${Math.round(e.getBoundingClientRect().right)}px): ${(e.textContent || "").trim().slice(0, 60)}`);
}"""


def nav_links_in_view(page: Any) -> None:
    """Every top-bar link shows whole: none slides under the bar's edge or the buttons beside it."""
    nav = page.locator("nav.nav").bounding_box()
    me = page.locator("header .me").bounding_box()
    for link in page.locator("nav.nav a").all():
        box = link.bounding_box()
        name = link.inner_text()
        assert box["x"] + box["width"] <= nav["x"] + nav["width"] + 1, f"{name!r} is cut off in {page.url}"
        beside = box["y"] < me["y"] + me["height"] and me["y"] < box["y"] + box["height"]
        assert not beside or box["x"] + box["width"] <= me["x"] + 1, f"{name!r} is under the buttons"


def playwright_browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
