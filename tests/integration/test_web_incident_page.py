"""The incident page's priorities (issue #19, item 4): people by name on the timeline, the review link from
the review phase on, and a closed incident shown as a record with only the way to reopen it."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.conftest import Api, fill_required_roles
from tests.integration.web_helpers import open_web


async def test_a_closed_incident_is_a_record_with_only_a_reopen(api: Api) -> None:
    declared = await api.responder.post("/api/v1/incidents", json={"title": "Search slow", "severity": "P3"})
    ref = declared.json()["ref"]
    async with open_web(api) as web:
        page = (await web["responder"].client.get(f"/incidents/{ref}")).text
        assert 'id="review-link"' not in page  # no review while the incident is being handled
        assert '<div class="who">Responder</div>' in page and '<div class="who">responder@' not in page
        await fill_required_roles(api, ref)
        for phase in ("review", "closed"):
            moved = await api.responder.post(
                f"/api/v1/incidents/{ref}/phase", json={"phase": phase, "reason": "next"}
            )
            assert moved.status_code == 200, moved.text
        closed = (await web["responder"].client.get(f"/incidents/{ref}")).text
        assert 'id="review-link"' in closed
        for form in ("/updates", "/severity", "/roles", "/tasks", "/links", "/alerts", "/milestones"):
            assert f'action="/incidents/{ref}{form}"' not in closed, form
        assert "Reopen" in closed and f'action="/incidents/{ref}/phase"' in closed
        assert "Reopen" not in (await web["viewer"].client.get(f"/incidents/{ref}")).text
        reopened = await web["responder"].post(
            f"/incidents/{ref}/phase", {"phase": "triage", "reason": "back"}
        )
        assert reopened.status_code == 303, reopened.text
    assert (await api.responder.get(f"/api/v1/incidents/{ref}")).json()["status"] == "active"


async def test_the_timeline_names_people_and_keeps_unknown_addresses(api: Api) -> None:
    declared = await api.responder.post("/api/v1/incidents", json={"title": "Search slow", "severity": "P3"})
    ref = declared.json()["ref"]
    assigned = await api.responder.post(
        f"/api/v1/incidents/{ref}/roles", json={"role": "incident_commander", "user": api.emails["admin"]}
    )
    assert assigned.status_code == 200
    async with open_web(api) as web:
        page = (await web["viewer"].client.get(f"/incidents/{ref}")).text
    timeline = page[page.index('id="timeline"') :]
    assert "Incident commander assigned to Admin" in timeline
    assert api.emails["admin"] not in timeline.split("</ol>")[0]


async def test_the_list_puts_what_needs_someone_first(api: Api) -> None:
    async def declare(title: str, severity: str) -> str:
        answer = await api.responder.post("/api/v1/incidents", json={"title": title, "severity": severity})
        api.clock.advance(timedelta(minutes=1))
        return str(answer.json()["ref"])

    old_p3 = await declare("old P3", "P3")
    acked_p1 = await declare("acked P1", "P1")
    first_p2 = await declare("first P2", "P2")
    second_p2 = await declare("second P2", "P2")
    done = await declare("done P1", "P1")
    assert (await api.responder.post(f"/api/v1/incidents/{acked_p1}/acknowledge")).status_code == 200
    await fill_required_roles(api, done)
    assert (
        await api.responder.post(f"/api/v1/incidents/{done}/resolve", json={"reason": "ok"})
    ).status_code == 200
    listed = await api.viewer.get("/api/v1/incidents", params={"sort": "attention"})
    order = [i["ref"] for i in listed.json()["items"]]
    assert order == [first_p2, second_p2, old_p3, acked_p1, done]
    newest = await api.viewer.get("/api/v1/incidents")
    assert [i["ref"] for i in newest.json()["items"]] == [done, second_p2, first_p2, acked_p1, old_p3]
    bad = await api.viewer.get("/api/v1/incidents", params={"sort": "loudest"})
    assert bad.status_code == 422
    async with open_web(api) as web:
        page = (await web["viewer"].client.get("/incidents")).text
    assert [page.index(f">{ref}<") for ref in order] == sorted(page.index(f">{ref}<") for ref in order)


async def test_take_command_is_one_button_for_whoever_is_signed_in(api: Api) -> None:
    declared = await api.responder.post("/api/v1/incidents", json={"title": "Search slow", "severity": "P3"})
    ref = declared.json()["ref"]
    async with open_web(api) as web:
        page = (await web["responder"].client.get(f"/incidents/{ref}")).text
        assert 'id="take-command"' in page and f'value="{api.emails["responder"]}"' in page
        assert 'id="take-command"' not in (await web["viewer"].client.get(f"/incidents/{ref}")).text
        taken = await web["responder"].post(
            f"/incidents/{ref}/roles",
            {"action": "assign", "role": "incident_commander", "user": api.emails["responder"]},
        )
        assert taken.status_code == 303, taken.text
        assert 'id="take-command"' not in (await web["responder"].client.get(f"/incidents/{ref}")).text
    roles = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["roles"]
    assert [(r["role"], r["user"]["email"]) for r in roles] == [
        ("incident_commander", api.emails["responder"])
    ]
