"""Post-incident reviews on both databases: drafted on entering review, curated, reviewed, published
read-only, exported, and required before a P1/P2 closes."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from pypdf import PdfReader
from sqlalchemy import update

from tests.conftest import START
from tests.fakes.sink import running_sink
from tests.integration.conftest import Api, fill_required_roles
from warroom.catalog.models import Service

PROBLEM = "application/problem+json"


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def resolved_p2(api: Api) -> str:
    """A P2 on two costed services, impact from 20 min before declaration, resolved 40 min after it."""
    for slug, cost in (("checkout", 40.0), ("payments", 10.0)):
        await ok(await api.admin.post("/api/v1/services", json={"slug": slug, "name": slug}), 201)
        async with api.context.db.write() as session:
            await session.execute(update(Service).where(Service.slug == slug).values(cost_per_minute=cost))
            await session.commit()
    body = {
        "title": "Checkout down", "severity": "P2", "type": "outage", "services": ["checkout", "payments"],
        "summary": "Pool exhausted", "impact_started_at": (START - timedelta(minutes=20)).isoformat(),
    }  # fmt: skip
    ref = (await ok(await api.responder.post("/api/v1/incidents", json=body), 201))["ref"]
    assign = {"role": "incident_commander", "user": api.emails["responder"]}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/roles", json=assign))
    await fill_required_roles(api, str(ref))
    api.clock.advance(timedelta(minutes=40))
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "fixed"}))
    return str(ref)


async def test_a_review_is_drafted_on_entering_review_with_impact_cost_and_follow_ups(api: Api) -> None:
    ref = await resolved_p2(api)
    review = await ok(await api.viewer.get(f"/api/v1/incidents/{ref}/review"))
    assert review["status"] == "draft" and review["summary"] == "Pool exhausted"
    assert review["impact_minutes"] == 60.0  # impact start to resolution: no mitigation milestone
    assert review["cost_estimate"] == 60.0 * 50.0
    assert review["services"] == ["checkout", "payments"]
    assert review["detection"].startswith("Detected at 2026-03-02 10:00 UTC")
    playbook = api.context.procedure.procedure.playbook_for("outage")
    assert playbook is not None
    steps = [step.title for step in playbook.steps]
    assert [a["title"] for a in review["action_items"]] == steps  # unfinished tasks carried over
    kinds = [e["kind"] for e in (await ok(await api.viewer.get(f"/api/v1/incidents/{ref}/timeline")))]
    assert kinds.count("review_drafted") == 1 and kinds[-1] == "review_drafted"
    again = await ok(await api.responder.post(f"/api/v1/incidents/{ref}/review"), 201)
    assert again["drafted_at"] == review["drafted_at"]  # drafting twice keeps the first


async def test_curation_keeps_the_original_time_and_hides_noise(api: Api) -> None:
    ref = await resolved_p2(api)
    events = await ok(await api.viewer.get(f"/api/v1/incidents/{ref}/timeline"))
    declared = next(e for e in events if e["kind"] == "declared")
    role = next(e for e in events if e["kind"] == "role_assigned")
    corrected = (START - timedelta(minutes=2)).isoformat()
    path = f"/api/v1/incidents/{ref}/review/timeline"
    fix = {"at": corrected, "highlighted": True, "note": "paged by phone first"}
    await ok(await api.responder.patch(f"{path}/{declared['seq']}", json=fix), 204)
    await ok(await api.responder.patch(f"{path}/{role['seq']}", json={"hidden": True}), 204)
    note = {"at": (START - timedelta(minutes=30)).isoformat(), "note": "Deploy 4812 rolled out"}
    await ok(await api.responder.post(f"/api/v1/incidents/{ref}/review/notes", json=note), 204)
    lines = await ok(await api.viewer.get(path))
    assert lines[0]["kind"] == "review_note" and lines[0]["summary"] == "Deploy 4812 rolled out"
    first = next(line for line in lines if line["seq"] == declared["seq"])
    assert first["at"] == "2026-03-02T09:58:00Z" and first["original_at"] == "2026-03-02T10:00:00Z"
    assert first["highlighted"] and first["note"] == "paged by phone first"
    assert role["seq"] not in [line["seq"] for line in lines]
    everything = await ok(await api.viewer.get(path, params={"include_hidden": "true"}))
    assert role["seq"] in [line["seq"] for line in everything]
    stored = await ok(await api.viewer.get(f"/api/v1/incidents/{ref}/timeline"))
    assert next(e for e in stored if e["seq"] == declared["seq"])["at"] == "2026-03-02T10:00:00Z"
    other = await api.responder.patch(f"{path}/999999", json={"hidden": True})
    assert other.status_code == 404 and other.headers["content-type"].startswith(PROBLEM)


async def test_publishing_needs_reviewers_then_freezes_the_review_but_not_its_action_items(api: Api) -> None:
    ref = await resolved_p2(api)
    base = f"/api/v1/incidents/{ref}/review"
    closing = await api.responder.post(
        f"/api/v1/incidents/{ref}/phase", json={"phase": "closed", "reason": "reviewed"}
    )
    assert closing.status_code == 409 and "published review" in closing.text
    edit = {"trigger": "Deploy 4812", "five_whys": ["Why? Pool too small", "Why? Copied from staging"]}
    await ok(await api.responder.patch(base, json=edit))
    lonely = await api.responder.post(f"{base}/status", json={"status": "in_review"})
    assert lonely.status_code == 409 and "reviewer" in lonely.text
    await ok(await api.responder.post(f"{base}/reviewers", json={"user": api.emails["viewer"]}))
    await ok(await api.responder.post(f"{base}/status", json={"status": "in_review"}))
    published = await ok(await api.responder.post(f"{base}/status", json={"status": "published"}))
    assert published["published_at"] == "2026-03-02T10:40:00Z" and published["reviewers"] == [
        api.emails["viewer"]
    ]
    frozen = await api.responder.patch(base, json={"trigger": "something else"})
    assert frozen.status_code == 409 and frozen.headers["content-type"].startswith(PROBLEM)
    assert (await ok(await api.viewer.get(base)))["trigger"] == "Deploy 4812"
    item = published["action_items"][0]["id"]
    done = await ok(await api.responder.patch(f"/api/v1/action-items/{item}", json={"status": "done"}))
    assert done["status"] == "done"
    await ok(
        await api.responder.post(
            f"/api/v1/incidents/{ref}/phase", json={"phase": "closed", "reason": "reviewed"}
        )
    )


async def test_action_items_and_the_markdown_export(api: Api) -> None:
    ref = await resolved_p2(api)
    due = (START - timedelta(days=1)).date().isoformat()
    item = {"title": "Alert on pool saturation", "type": "prevent", "owner": api.emails["responder"],
            "due_on": due, "tracker_url": "https://tracker.example/PAY-1"}  # fmt: skip
    created = await ok(
        await api.responder.post(f"/api/v1/incidents/{ref}/review/action-items", json=item), 201
    )
    assert created["overdue"] is True and created["owner"] == api.emails["responder"]
    bad = await api.responder.post(
        f"/api/v1/incidents/{ref}/review/action-items", json={**item, "type": "blame"}
    )
    assert bad.status_code == 422
    overdue = await ok(await api.viewer.get("/api/v1/action-items", params={"overdue": "true"}))
    assert [i["title"] for i in overdue] == ["Alert on pool saturation"]
    await ok(await api.responder.patch(f"/api/v1/incidents/{ref}/review", json={"five_whys": ["Why? Pool"]}))
    text = (await api.viewer.get(f"/api/v1/incidents/{ref}/review/export.md")).text
    assert text.startswith(f"# Post-incident review: {ref} Checkout down")
    assert "**Cost estimate:** 3,000.00 USD" in text and "1. Why? Pool" in text
    assert "| Alert on pool saturation | prevent | responder@test.warroom | " in text
    assert "(overdue)" in text and "https://tracker.example/PAY-1" in text
    assert "| Resolved |" in text or "Resolved" in text
    page = await api.viewer.get(f"/api/v1/incidents/{ref}/review/export.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "attachment" in page.headers["content-disposition"]
    assert page.text.startswith("<!doctype html>") and "@media print" in page.text
    assert "<h1>Post-incident review: " in page.text and "<td>Alert on pool saturation</td>" in page.text
    assert "<li>Why? Pool</li>" in page.text


async def test_a_security_review_asks_its_templates_questions(api: Api) -> None:
    body = {"title": "Token leaked", "severity": "P3", "type": "security"}
    ref = (await ok(await api.responder.post("/api/v1/incidents", json=body), 201))["ref"]
    review = await ok(await api.responder.post(f"/api/v1/incidents/{ref}/review"), 201)
    assert review["template"] == "security" and len(review["questions"]) == 3
    question = review["questions"][1]
    answered = await ok(
        await api.responder.patch(
            f"/api/v1/incidents/{ref}/review", json={"answers": {question: "Yes, in 20 h"}}
        )
    )
    assert answered["answers"] == {question: "Yes, in 20 h"}
    stray = await api.responder.patch(f"/api/v1/incidents/{ref}/review", json={"answers": {"Who?": "x"}})
    assert stray.status_code == 422 and "not a question" in stray.text
    # A security incident is restricted: its participants (who declared it) and admins export it.
    text = (await api.responder.get(f"/api/v1/incidents/{ref}/review/export.md")).text
    assert f"## {question}\n\nYes, in 20 h" in text
    assert (await api.viewer.get(f"/api/v1/incidents/{ref}/review/export.md")).status_code == 404


async def test_the_pdf_export_lays_out_the_review_and_fetches_nothing_it_mentions(api: Api) -> None:
    """An image in review text (a cloud metadata address, a local file) is neither fetched nor read."""
    ref = await resolved_p2(api)
    with running_sink() as sink:
        bait = f"![graph]({sink.url}/metadata) and ![passwd](file:///etc/passwd)"
        patch = {"five_whys": ["Why? Pool"], "trigger": f"Deploy 4812 {bait}"}
        await ok(await api.responder.patch(f"/api/v1/incidents/{ref}/review", json=patch))
        item = {"title": "Alert on pool saturation", "type": "prevent", "owner": api.emails["responder"]}
        await ok(await api.responder.post(f"/api/v1/incidents/{ref}/review/action-items", json=item), 201)
        exported = await api.viewer.get(f"/api/v1/incidents/{ref}/review/export.pdf")
        assert sink.received == [] and sink.refused == 0  # nothing asked for the image
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "application/pdf"
    assert exported.headers["content-disposition"] == f'attachment; filename="review-{ref}.pdf"'
    reader = PdfReader(io.BytesIO(exported.content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())  # table cells wrap lines
    assert f"Post-incident review: {ref} Checkout down" in text
    assert "Why? Pool" in text and "Deploy 4812" in text and "Alert on pool saturation" in text
    assert "root:" not in text  # /etc/passwd was not read into the document
    box = reader.pages[0].mediabox  # A4 from the print stylesheet: 595 x 842 points
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert reader.metadata is not None and reader.metadata.title == f"Review of {ref} Checkout down"
    refused = await api.stakeholder.get(f"/api/v1/incidents/{ref}/review/export.pdf")
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(PROBLEM)
