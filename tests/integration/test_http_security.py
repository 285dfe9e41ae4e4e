"""Security headers on every kind of answer, and forwarded headers believed only from a trusted proxy:
through the app in process (any peer address) and through a real `warroom serve` process on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from tests.conftest import START
from tests.integration.conftest import Api
from tests.integration.web_helpers import CSRF
from tests.process import running_server
from warroom.app import create_app
from warroom.clock import FrozenClock
from warroom.config import Settings
from warroom.http_security import HTML_CSP, with_security_headers
from warroom.web.sessions import COOKIE

ALWAYS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}
HSTS = "max-age=31536000"


def assert_secured(response: httpx.Response, *, html: bool) -> None:
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (response.request.url, name, response.headers)
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, (response.request.url, policy)
    assert ("default-src 'self'" if html else "default-src 'none'") in policy, (response.request.url, policy)


async def test_every_kind_of_answer_carries_the_security_headers(api: Api) -> None:
    client = api.anonymous
    json_404 = await client.get("/api/v1/no-such-thing")
    assert json_404.status_code == 404 and json_404.headers["content-type"] == "application/problem+json"
    assert_secured(json_404, html=False)
    problem = await client.get("/api/v1/me")  # no token: problem+json 401
    assert problem.status_code == 401 and problem.headers["content-type"] == "application/problem+json"
    assert_secured(problem, html=False)
    json = await api.viewer.get("/api/v1/me")
    assert json.status_code == 200 and json.headers["content-type"] == "application/json"
    assert_secured(json, html=False)
    not_allowed = await api.viewer.delete("/api/v1/me")
    assert not_allowed.status_code == 405
    assert_secured(not_allowed, html=False)
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert_secured(health, html=False)
    static = await client.get("/static/warroom.css")
    assert static.status_code == 200
    assert_secured(static, html=False)
    page = await client.get("/login")
    assert page.status_code == 200
    assert_secured(page, html=True)
    lost = await client.get("/no-such-page", headers={"accept": "text/html"})
    assert lost.status_code == 404
    assert_secured(lost, html=True)
    public = await client.get("/status")
    assert_secured(public, html=public.headers["content-type"].startswith("text/html"))
    intake = await client.post("/v2/enqueue", json={"event_action": "trigger"})  # the fast lane's answer
    assert intake.status_code == 400 and intake.json()["status"] == "invalid event"
    assert_secured(intake, html=False)
    assert "strict-transport-security" not in json_404.headers  # plain http, base URL http


async def test_even_an_unexpected_error_carries_the_security_headers(api: Api) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    api.app.add_api_route("/test-only/broken", broken, include_in_schema=False)
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://warroom.test") as client:
        failed = await client.get("/test-only/broken")
    assert failed.status_code == 500 and failed.headers["content-type"] == "application/problem+json"
    assert_secured(failed, html=False)


@asynccontextmanager
async def app_client(
    db_url: str, data_dir: Path, *, peer: str, **settings: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=db_url, data_dir=data_dir, **settings), clock=FrozenClock(START))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://warroom.test") as client:
            yield client


FORWARDED = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.77"}


async def failed_sign_in_address(client: httpx.AsyncClient) -> str:
    """The client address the sign-in throttle counted (from its log line)."""
    page = await client.get("/login")
    found = CSRF.search(page.text)
    assert found
    # Sent by hand: the jar keeps a Secure cookie off this test's plain-http transport, as a browser would.
    form = {"csrf_token": found.group(1), "email": "nobody@test.warroom", "password": "wrong password"}
    with capture_logs() as logs:
        answer = await client.post(
            "/login", data=form, headers={"cookie": f"{COOKIE}={client.cookies[COOKIE]}"}
        )
        assert answer.status_code == 401
    return str(next(e["address"] for e in logs if e["event"] == "sign_in.failed"))


async def test_forwarded_headers_count_only_from_a_trusted_proxy(db_url: str, data_dir: Path) -> None:
    async with app_client(db_url, data_dir, peer="10.1.2.3", trusted_proxies="10.0.0.0/8") as via_proxy:
        via_proxy.headers.update(FORWARDED)
        page = await via_proxy.get("/login")
        assert page.headers.get("strict-transport-security") == HSTS
        assert "secure" in page.headers["set-cookie"].lower()
        assert (await via_proxy.get("/api/v1/nope")).headers.get("strict-transport-security") == HSTS
        assert await failed_sign_in_address(via_proxy) == "203.0.113.77"

    async with app_client(db_url, data_dir, peer="192.0.2.50", trusted_proxies="10.0.0.0/8") as direct:
        direct.headers.update(FORWARDED)  # a client pretending to be behind a proxy
        page = await direct.get("/login")
        assert "strict-transport-security" not in page.headers
        assert "secure" not in page.headers["set-cookie"].lower()
        assert await failed_sign_in_address(direct) == "192.0.2.50"


async def test_an_https_base_url_makes_cookies_secure_and_sends_hsts(db_url: str, data_dir: Path) -> None:
    async with app_client(db_url, data_dir, peer="192.0.2.50", base_url="https://warroom.example") as client:
        page = await client.get("/login")
        assert page.headers.get("strict-transport-security") == HSTS
        assert "secure" in page.headers["set-cookie"].lower()


def test_a_bad_trusted_proxy_setting_is_refused_with_its_value() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not an IP address or CIDR network"):
        Settings(trusted_proxies="127.0.0.1, 10.0.0.0/33")


@pytest.mark.slow
@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
def test_a_real_server_believes_forwarded_proto_only_from_a_trusted_proxy(
    sqlite_database: str, tmp_path: Path, trusted: bool
) -> None:
    """uvicorn itself would believe X-Forwarded-* from 127.0.0.1 by default; the server must not."""
    env = {
        "WARROOM_DATABASE_URL": sqlite_database,  # migrated already: `serve` starts at once
        "WARROOM_DATA_DIR": str(tmp_path / "var"),
        "WARROOM_LOG_LEVEL": "warning",
    }
    if trusted:
        env["WARROOM_TRUSTED_PROXIES"] = "127.0.0.1"
    with running_server(env, ("serve",), log_dir=tmp_path / "logs") as server:
        page = httpx.get(f"{server.url}/login", headers=FORWARDED, timeout=10)
        missing = httpx.get(f"{server.url}/api/v1/nope", headers=FORWARDED, timeout=10)
    assert page.status_code == 200 and missing.status_code == 404
    assert_secured(missing, html=False)
    assert (page.headers.get("strict-transport-security") == HSTS) is trusted
    assert ("secure" in page.headers["set-cookie"].lower()) is trusted


def test_a_header_the_response_set_itself_is_kept_and_not_repeated() -> None:
    own_policy = (b"content-security-policy", b"default-src 'none'; sandbox")
    raw = [(b"content-type", b"text/html; charset=utf-8"), own_policy, (b"X-Frame-Options", b"SAMEORIGIN")]
    headers = with_security_headers(raw, https=True, docs=False)
    names = [name.lower() for name, _ in headers]
    assert len(names) == len(set(names)), headers
    assert own_policy in headers and (b"X-Frame-Options", b"SAMEORIGIN") in headers
    assert (b"strict-transport-security", HSTS.encode()) in headers
    assert (b"x-content-type-options", b"nosniff") in headers
    plain = with_security_headers([(b"content-type", b"text/html")], https=False, docs=False)
    assert (b"content-security-policy", HTML_CSP.encode()) in plain
    assert b"strict-transport-security" not in [name for name, _ in plain]
