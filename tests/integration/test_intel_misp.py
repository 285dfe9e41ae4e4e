"""A MISP instance searched through `pymisp` (issue #16), on both databases: the fake in tests/fakes/misp.py
speaks the REST calls PyMISP makes; each poll asks only for events changed since the last one, attributes
not flagged for detection are left out, and a wrong key is an error on the feed, not an exception."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.fakes.misp import API_KEY, FakeMisp, running_misp
from tests.integration.conftest import Api
from tests.integration.test_intel import ok, work

T0 = 1_772_400_000  # epoch seconds, early March 2026


@pytest.fixture
def misp() -> Iterator[FakeMisp]:
    with running_misp() as fake:
        yield fake


def attribute(kind: str, value: str, to_ids: bool = True) -> dict[str, object]:
    return {
        "uuid": f"attr-{kind}-{value}",
        "type": kind,
        "value": value,
        "to_ids": to_ids,
        "category": "Network activity",
    }


async def test_a_misp_instance_is_searched_for_what_changed(api: Api, misp: FakeMisp) -> None:
    misp.add_event(
        "Phishing kit infrastructure",
        T0,
        [
            attribute("domain", "kit.example"),
            attribute("ip-dst", "192.0.2.55"),
            attribute("comment", "x", False),
        ],
        Tag=[{"name": "tlp:green"}],
    )
    feed = {
        "slug": "misp-prod",
        "name": "Our MISP",
        "kind": "misp-api",
        "url": misp.url,
        "options": {"key": API_KEY},
    }
    await ok(await api.admin.post("/api/v1/intel/feeds", json=feed), 201)
    await work(api, 1)
    (state,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
    assert state["last_error"] is None and state["last_counts"] == {"added": 2, "updated": 0, "rejected": 0}
    found = await ok(await api.viewer.get("/api/v1/intel/indicators", params={"feed": "misp-prod"}))
    assert {(i["type"], i["value"], i["tlp"]) for i in found} == {
        ("domain", "kit.example", "green"),
        ("ip", "192.0.2.55", "green"),
    }
    first = misp.searches[-1]
    assert first.get("timestamp") is None and first["to_ids"] == 1 and first["published"] is True

    misp.add_event("Loader hashes", T0 + 600, [attribute("sha256", "a" * 64)])
    api.clock.advance(timedelta(hours=2))
    await ok(await api.admin.post("/api/v1/intel/feeds/misp-prod/poll"), 202)
    await work(api, 1)
    assert misp.searches[-1]["timestamp"] == T0  # only what changed since the last event seen
    (state,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
    assert state["last_counts"] == {"added": 1, "updated": 0, "rejected": 0}
    assert state["indicators"] == 3


async def test_a_wrong_key_is_an_error_on_the_feed(api: Api, misp: FakeMisp) -> None:
    feed = {
        "slug": "misp-bad",
        "name": "Bad key",
        "kind": "misp-api",
        "url": misp.url,
        "options": {"key": "nope"},
    }
    await ok(await api.admin.post("/api/v1/intel/feeds", json=feed), 201)
    await work(api, 1)
    (state,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
    assert state["last_error"].startswith("MISP") and state["indicators"] == 0
    keyless = {"slug": "misp-none", "name": "No key", "kind": "misp-api", "url": misp.url}
    await ok(await api.admin.post("/api/v1/intel/feeds", json=keyless), 201)
    await work(api, 1)
    states = {f["slug"]: f for f in await ok(await api.viewer.get("/api/v1/intel/feeds"))}
    assert "API key" in states["misp-none"]["last_error"]
