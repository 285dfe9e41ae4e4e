"""Security milestones (issue #15, section 3): the first malicious activity is an estimate a responder
records and may revise; eradicated and recovered come with the phases; regulators notified by hand; dwell
time (first malicious activity to detection) and time to contain per incident type in the metrics. Both
databases, through the API."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import START
from tests.integration.conftest import Api, fill_required_roles
from tests.integration.restricted_helpers import declare_security
from tests.integration.web_helpers import field_error, open_web


def iso(hours: float) -> str:
    """START moved by `hours`, as the API takes it."""
    return (START + timedelta(hours=hours)).isoformat()


async def _record(api: Api, ref: str, milestone: str, hours: float, role: str = "admin") -> dict[str, object]:
    answer = await api.clients[role].post(
        f"/api/v1/incidents/{ref}/milestones", json={"milestone": milestone, "at": iso(hours), "note": "EDR"}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_the_first_malicious_activity_is_an_estimate_and_dwell_time_follows_the_latest(
    api: Api,
) -> None:
    api.clock.advance(timedelta(hours=2))
    ref = await declare_security(api, detected_at=iso(1))
    await _record(api, ref, "compromised", -72)
    shown = await _record(api, ref, "compromised", -120)  # the logs reach further back than first thought
    assert shown["compromised_at"] == iso(-120).replace("+00:00", "Z")
    events = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    estimates = [e for e in events if e["kind"] == "compromised"]
    assert [e["data"] for e in estimates] == [{"by_hand": True, "note": "EDR"}] * 2
    await _record(api, ref, "contained", 1.5)
    metrics = (await api.admin.get("/api/v1/metrics", params={"since": "1d", "group_by": "type"})).json()
    security = metrics["groups"]["security"]["metrics"]
    assert security["dwell_time"]["p50"] == 121 * 3600  # from -120 h to detection at +1 h
    assert security["time_to_contain"]["p50"] == 0.5 * 3600


async def test_impossible_or_repeated_milestones_are_refused_and_change_nothing(api: Api) -> None:
    api.clock.advance(timedelta(hours=2))
    ref = await declare_security(api, detected_at=iso(1))
    for milestone, hours in (("compromised", 1.5), ("compromised", 3), ("contained", 0.5), ("notified", 5)):
        answer = await api.admin.post(
            f"/api/v1/incidents/{ref}/milestones", json={"milestone": milestone, "at": iso(hours)}
        )
        assert answer.status_code == 422, (milestone, hours, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    unknown = await api.admin.post(f"/api/v1/incidents/{ref}/milestones", json={"milestone": "pwned"})
    assert unknown.status_code == 422
    await _record(api, ref, "notified", 1.8)
    again = await api.admin.post(f"/api/v1/incidents/{ref}/milestones", json={"milestone": "notified"})
    assert again.status_code == 409, again.text
    incident = (await api.admin.get(f"/api/v1/incidents/{ref}")).json()
    assert (incident["compromised_at"], incident["contained_at"]) == (None, None)
    assert incident["notified_at"] == iso(1.8).replace("+00:00", "Z")


async def test_who_may_record_them(api: Api) -> None:
    ref = await declare_security(api)
    body = {"milestone": "compromised", "at": iso(-1)}
    assert (await api.viewer.post(f"/api/v1/incidents/{ref}/milestones", json=body)).status_code == 403
    outsider = await api.responder.post(f"/api/v1/incidents/{ref}/milestones", json=body)
    assert outsider.status_code == 404  # a restricted incident: not even its existence
    opened = await api.responder.post("/api/v1/incidents", json={"title": "Odd logins", "severity": "P3"})
    mine = opened.json()["ref"]
    assert (await api.responder.post(f"/api/v1/incidents/{mine}/milestones", json=body)).status_code == 200


async def test_the_phases_record_eradicated_and_recovered(api: Api) -> None:
    opened = await api.responder.post("/api/v1/incidents", json={"title": "Bad deploy", "severity": "P3"})
    ref = opened.json()["ref"]
    await fill_required_roles(api, ref)
    for hours, phase in ((0.5, "containment"), (1, "recovery"), (2, "review")):
        api.clock.set(START + timedelta(hours=hours))
        moved = await api.responder.post(
            f"/api/v1/incidents/{ref}/phase", json={"phase": phase, "reason": "next"}
        )
        assert moved.status_code == 200, moved.text
    incident = (await api.responder.get(f"/api/v1/incidents/{ref}")).json()
    assert incident["eradicated_at"] == iso(1).replace("+00:00", "Z")
    assert incident["recovered_at"] == iso(2).replace("+00:00", "Z")
    assert incident["compromised_at"] is None


async def test_the_incident_page_records_one_and_says_what_was_wrong(api: Api) -> None:
    api.clock.advance(timedelta(hours=2))
    ref = await declare_security(api, detected_at=iso(1))
    async with open_web(api) as web:
        bad = await web["admin"].post(
            f"/incidents/{ref}/milestones", {"milestone": "compromised", "at": "soon"}
        )
        assert bad.status_code == 422
        assert field_error(bad.text, "milestone-at") == "give a date and time like 2026-03-01 09:30"
        late = {"milestone": "compromised", "at": iso(1.5)[:16]}
        refused = await web["admin"].post(f"/incidents/{ref}/milestones", late)
        assert refused.status_code == 422 and "comes before detection" in refused.text
        done = await web["admin"].post(
            f"/incidents/{ref}/milestones", {"milestone": "compromised", "at": iso(-30)[:16]}
        )
        assert done.status_code == 303, done.text
        page = (await web["admin"].client.get(f"/incidents/{ref}")).text
        assert "First malicious activity (estimated)" in page
    incident = (await api.admin.get(f"/api/v1/incidents/{ref}")).json()
    assert incident["compromised_at"] == iso(-30).replace("+00:00", "Z")
