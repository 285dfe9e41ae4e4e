"""Single sign-on end to end against `warroom run`: Debian's Chromium signs in through the OpenID provider
in tests/fakes/oidc_provider.py (Authlib's server side, on loopback) and lands signed in with the role its
group gives; `warroom login --sso` gets a working API token through the device flow. Screenshots under
tmp_path."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.browser_helpers import Stack, playwright_browser, running_stack
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, Person, Provider, running_provider
from tests.process import WARROOM, child_env, free_port

pytestmark = pytest.mark.slow
ERIN = Person("erin-5", "erin@example.org", "Erin Example", ["sre"])


@pytest.fixture(scope="module")
def idp() -> Iterator[Provider]:
    with running_provider() as provider:
        provider.add(ERIN)
        yield provider


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, idp: Provider) -> Iterator[Stack]:
    port = free_port()
    idp.clients[CLIENT_ID].redirect_uris.append(f"http://127.0.0.1:{port}/auth/sso/oidc/callback")
    env = {"WARROOM_PORT": str(port), "WARROOM_OIDC_ISSUER": idp.url, "WARROOM_OIDC_CLIENT_ID": CLIENT_ID,
           "WARROOM_OIDC_CLIENT_SECRET": CLIENT_SECRET, "WARROOM_OIDC_NAME": "Example ID"}  # fmt: skip
    for running in running_stack(tmp_path_factory, "sso-e2e", env):
        with running.api() as api:
            made = api.post("/api/v1/sso/rules", json={"group": "sre", "role": "responder"})
            assert made.status_code == 201, made.text
        yield running


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    yield from playwright_browser()


def test_sign_in_with_the_provider_in_a_browser(
    stack: Stack, idp: Provider, browser: Any, tmp_path: Path
) -> None:
    idp.signed_in_as = ERIN.sub
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{stack.url}/login")
    page.screenshot(path=str(tmp_path / "sso-login.png"), full_page=True)
    page.click("text=Sign in with Example ID")
    page.wait_for_url(f"{stack.url}/")
    page.screenshot(path=str(tmp_path / "sso-signed-in.png"), full_page=True)
    assert "Signed in as erin@example.org" in page.inner_text("body")
    with stack.api() as api:
        people = {u["email"]: u for u in api.get("/api/v1/users").json()}
    assert people["erin@example.org"]["role"] == "responder"


def test_warroom_login_sso_prints_a_working_token(stack: Stack, idp: Provider) -> None:
    env = child_env({**os.environ, "WARROOM_URL": stack.url, "WARROOM_TOKEN": ""})
    cli = subprocess.Popen(
        [str(WARROOM), "login", "--sso", "oidc"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert cli.stdout is not None
    first = cli.stdout.readline()  # "Open <url> and enter the code ABCD-EFGH"
    code = re.search(r"enter the code (\S+)", first)
    assert code, first
    idp.approve(code.group(1), ERIN.sub)
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    token = re.search(r"export WARROOM_TOKEN=(wr_\S+)", out)
    assert token and "signed in as erin@example.org (responder)" in out, out
    me = httpx.get(
        f"{stack.url}/api/v1/me", headers={"Authorization": f"Bearer {token.group(1)}"}, timeout=10
    )
    assert me.status_code == 200 and me.json()["email"] == "erin@example.org"
