"""Alert lists count their matches only up to 10,000: an exact count reads every match (25-40 ms at a million
alerts, and growing), so past the cap the API says `total_exact: false` and the pages say "10,000+"."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.conftest import Api
from tests.integration.test_intake import integration
from tests.integration.web_helpers import open_web, text_of
from warroom.alerts.domain import COUNT_CAP, AlertEventIn, count_label
from warroom.alerts.intake.store import apply_works
from warroom.alerts.intake.work import IntakeWork
from warroom.alerts.models import Integration

CHUNK = 2_500


async def _triggered(api: Api, integration_id: int, count: int) -> None:
    """`count` alerts, through the intake's own set-wise path, a chunk per transaction."""
    async with api.context.db.read() as session:
        service_id = await session.scalar(
            select(Integration.service_id).where(Integration.id == integration_id)
        )
    for first in range(0, count, CHUNK):
        keys = range(first, min(first + CHUNK, count))
        events = [AlertEventIn(action="trigger", dedup_key=f"k{n}", title=f"alert {n}") for n in keys]
        work = IntakeWork(
            integration_id,
            service_id,
            f"r{first}",
            api.clock.now(),
            "application/json",
            {},
            b"{}",
            {},
            events,
        )
        async with api.context.db.write() as session:
            await apply_works(session=session, works=[work])
            await session.commit()


def test_the_label_says_when_the_count_is_a_lower_bound() -> None:
    assert [count_label(n) for n in (0, 1, 9_999, COUNT_CAP, COUNT_CAP + 1)] == [
        "0",
        "1",
        "9,999",
        "10,000",
        "10,000+",
    ]


async def test_past_the_cap_the_count_is_a_lower_bound(api: Api) -> None:
    created = await integration(api, "webhook")
    await _triggered(api, created["id"], COUNT_CAP + 2)
    page = (await api.viewer.get("/api/v1/alerts", params={"limit": 5})).json()
    assert (page["total"], page["total_exact"], len(page["items"])) == (COUNT_CAP, False, 5)
    assert page["items"][0]["title"].startswith("alert ")
    none = (await api.viewer.get("/api/v1/alerts", params={"status": "resolved"})).json()
    assert (none["total"], none["total_exact"]) == (0, True)
    some = (await api.viewer.get("/api/v1/alerts", params={"q": "alert 10001"})).json()
    assert (some["total"], some["total_exact"]) == (1, True)
    async with open_web(api) as web:
        listed = text_of((await web["responder"].client.get("/alerts")).text)
        assert "10,000+ matches" in listed and "of 10,000+" in listed and "Older →" in listed
        board = text_of((await web["responder"].client.get("/")).text)
        assert "Triggered alerts 10,000+" in board and "All 10,000+ triggered alerts" in board
