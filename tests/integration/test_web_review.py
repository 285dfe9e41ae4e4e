"""The review page on both databases: drafted, curated, written, reviewed and published through its forms,
refusals shown as a message, read-only roles kept out, and the dashboard's overdue follow-ups."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tests.conftest import START
from tests.integration.conftest import Api, fill_required_roles
from tests.integration.web_helpers import Web, open_web, text_of


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Web]:
    async with open_web(api) as found:
        yield found


async def resolved(api: Api) -> str:
    body = {
        "title": "Search slow",
        "severity": "P3",
        "impact_started_at": (START - timedelta(minutes=10)).isoformat(),
    }
    ref = (await api.responder.post("/api/v1/incidents", json=body)).json()["ref"]
    await fill_required_roles(api, ref)
    api.clock.advance(timedelta(minutes=50))
    assert (
        await api.responder.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "fixed"})
    ).status_code == 200
    return str(ref)


async def test_a_review_is_curated_written_and_published_through_the_page(web: Web) -> None:
    api = web.api
    ref = await resolved(api)
    me = web["responder"]
    page = await me.client.get(f"/incidents/{ref}/review")
    assert page.status_code == 200 and 'id="impact-minutes">1 h<' in page.text
    assert (await me.post(f"/incidents/{ref}/review/timeline/1", {"action": "highlight"})).status_code == 303
    assert (await me.post(f"/incidents/{ref}/review/timeline/2", {"action": "hide"})).status_code == 303
    fix = {"action": "annotate", "note": "we saw it earlier", "at": "2026-03-02T09:55"}
    assert (await me.post(f"/incidents/{ref}/review/timeline/3", fix)).status_code == 303
    note = {"at": "2026-03-02T09:45", "note": "Index rebuild started"}
    assert (await me.post(f"/incidents/{ref}/review/notes", note)).status_code == 303
    form = {"summary": "Index rebuild starved search", "five_whys": "Why? Rebuild\nWhy? No throttle\n",
            "customers_affected": "120"}  # fmt: skip
    assert (await me.post(f"/incidents/{ref}/review/edit", form)).status_code == 303
    refused = await me.post(f"/incidents/{ref}/review/status", {"status": "in_review"})
    assert "reviewer" in text_of((await me.client.get(refused.headers["location"])).text)
    await me.post(f"/incidents/{ref}/review/reviewers", {"user": api.emails["viewer"]})
    await me.post(f"/incidents/{ref}/review/status", {"status": "in_review"})
    await me.post(f"/incidents/{ref}/review/status", {"status": "published"})
    review = (await api.viewer.get(f"/api/v1/incidents/{ref}/review")).json()
    assert review["status"] == "published" and review["summary"] == "Index rebuild starved search"
    assert review["five_whys"] == ["Why? Rebuild", "Why? No throttle"] and review["customers_affected"] == 120
    lines = (await api.viewer.get(f"/api/v1/incidents/{ref}/review/timeline")).json()
    assert lines[0]["summary"] == "Index rebuild started" and lines[1]["highlighted"] is True
    assert 2 not in [line["seq"] for line in lines]
    fixed = next(line for line in lines if line["seq"] == 3)
    assert fixed["at"] == "2026-03-02T09:55:00Z" and fixed["original_at"] is not None
    assert fixed["note"] == "we saw it earlier"
    shown = (await me.client.get(f"/incidents/{ref}/review")).text
    assert (
        'id="review-status">published<' in shown
        and 'action="/incidents/' + ref + '/review/edit"' not in shown
    )
    markdown = (await me.client.get(f"/incidents/{ref}/review.md")).text
    assert (
        markdown.startswith(f"# Post-incident review: {ref} Search slow")
        and "1. Why? No throttle" in markdown
    )
    first = review["action_items"][0]
    moved = await me.post(f"/incidents/{ref}/review/action-items/{first['id']}", {"status": "in_progress"})
    assert moved.status_code == 303  # after publication, action items still move
    after = (await api.viewer.get(f"/api/v1/incidents/{ref}/review")).json()["action_items"][0]
    assert after["status"] == "in_progress"
    wrong = await me.post(f"/incidents/{ref}/review/action-items/{first['id']}", {"status": "forgotten"})
    assert "status" in text_of((await me.client.get(wrong.headers["location"])).text)
    printable = await me.client.get(f"/incidents/{ref}/review.html")
    assert printable.status_code == 200 and "@media print" in printable.text
    pdf = await me.client.get(f"/incidents/{ref}/review.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and "attachment" in pdf.headers["content-disposition"]
    assert (await me.client.get(f"/incidents/{ref}/review.docx")).status_code == 404
    assert (await web["stakeholder"].client.get(f"/incidents/{ref}/review")).status_code == 403
    assert (await web["viewer"].post(f"/incidents/{ref}/review/edit", form)).status_code == 403


async def test_overdue_action_items_show_on_the_dashboard(web: Web) -> None:
    api = web.api
    ref = await resolved(api)
    item = {"title": "Throttle index rebuilds", "owner": api.emails["responder"], "due_on": "2026-03-01"}
    assert (await web["responder"].post(f"/incidents/{ref}/review/action-items", item)).status_code == 303
    board = text_of((await web["viewer"].client.get("/")).text)
    assert "Overdue follow-ups" in board and "Throttle index rebuilds" in board
    bad = await web["responder"].post(f"/incidents/{ref}/review/action-items", {**item, "type": "blame"})
    assert "type" in text_of((await web["responder"].client.get(bad.headers["location"])).text)
    overdue = (await api.viewer.get("/api/v1/action-items", params={"overdue": "true"})).json()
    assert [i["title"] for i in overdue] == ["Throttle index rebuilds"]  # the refused one was not added
