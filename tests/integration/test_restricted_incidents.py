"""Restricted incidents beyond single routes: lists, search and counts leave them out for non-participants;
metrics count them without naming them; who is a participant (role holders past and present, those added,
the security team); who may change that; the access log; chat and notification text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from jinja2 import Template
from pydantic import SecretStr
from slack_sdk import WebClient

from tests.fakes.sink import Sink, running_sink
from tests.fakes.slack import FakeSlack
from tests.integration.chat_helpers import fake_slack, run_jobs, slack
from tests.integration.conftest import Api
from tests.integration.restricted_helpers import TITLE, add_person, declare_security
from tests.integration.test_paging import fire
from tests.integration.test_paging import setup as paging_setup
from tests.integration.web_helpers import open_web
from warroom.auth.models import User
from warroom.incidents.visibility import viewer_of
from warroom.web.live import Change
from warroom.web.sse import IncidentWatch
from warroom.wiring import new_worker

__all__ = ["fake_slack", "slack"]  # fixtures
pytestmark = pytest.mark.filterwarnings("ignore:HarfBuzz-Subset:DeprecationWarning")


async def _listed(api: Api, role: str, **params: str) -> tuple[list[str], int]:
    page = (await api.clients[role].get("/api/v1/incidents", params=params)).json()
    return [i["title"] for i in page["items"]], page["total"]


async def test_lists_search_and_counts_leave_it_out_for_non_participants(api: Api) -> None:
    await declare_security(api)
    opened = await api.responder.post("/api/v1/incidents", json={"title": "Checkout slow", "severity": "P3"})
    assert opened.status_code == 201
    for role in ("responder", "viewer", "stakeholder"):
        assert await _listed(api, role) == (["Checkout slow"], 1), role
        assert await _listed(api, role, q="domain admin") == ([], 0), role
        assert await _listed(api, role, severity="P1") == ([], 0), role
    assert await _listed(api, "admin", q="domain admin") == ([TITLE], 1)
    assert (await _listed(api, "admin"))[1] == 2
    async with open_web(api) as web:
        for role in ("responder", "viewer", "stakeholder"):
            for path in ("/", "/incidents", "/incidents?q=domain"):
                page = await web[role].client.get(path)
                assert page.status_code == 200 and TITLE not in page.text, (role, path)
        assert TITLE in (await web["admin"].client.get("/incidents")).text


async def test_metrics_count_it_without_naming_it(api: Api) -> None:
    await declare_security(api)
    api.clock.advance(timedelta(minutes=5))
    answer = await api.viewer.get("/api/v1/metrics", params={"since": "1d"})
    assert answer.status_code == 200
    assert answer.json()["overall"]["incidents"] == 1
    assert TITLE not in answer.text and "INC-1" not in answer.text


async def test_role_holders_past_and_present_the_added_and_the_security_team_see_it(api: Api) -> None:
    ref = await declare_security(api)
    assert (await api.responder.get(f"/api/v1/incidents/{ref}")).status_code == 404
    role = {"role": "technical_lead", "user": api.emails["responder"]}
    assert (await api.admin.post(f"/api/v1/incidents/{ref}/roles", json=role)).status_code == 200
    assert (await api.responder.get(f"/api/v1/incidents/{ref}")).status_code == 200
    gone = await api.admin.post(f"/api/v1/incidents/{ref}/roles", json={**role, "action": "unassign"})
    assert gone.status_code == 200
    assert (await api.responder.get(f"/api/v1/incidents/{ref}")).status_code == 200  # having held a role

    assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).status_code == 404
    added = await api.admin.post(f"/api/v1/incidents/{ref}/participants", json={"user": api.emails["viewer"]})
    assert added.status_code == 201 and added.json()["user"]["email"] == api.emails["viewer"]
    assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).status_code == 200
    again = await api.admin.post(f"/api/v1/incidents/{ref}/participants", json={"user": api.emails["viewer"]})
    assert again.status_code == 409
    unknown = await api.admin.post(f"/api/v1/incidents/{ref}/participants", json={"user": "nobody@x.org"})
    assert unknown.status_code == 422

    analyst = await add_person(api, "analyst@test.warroom", "responder")
    try:
        assert (await analyst.get(f"/api/v1/incidents/{ref}")).status_code == 404
        team = {"slug": "security", "name": "SOC", "members": ["analyst@test.warroom"]}
        assert (await api.admin.post("/api/v1/teams", json=team)).status_code == 201  # the procedure's
        assert (await analyst.get(f"/api/v1/incidents/{ref}")).status_code == 200
        assert (await analyst.get("/api/v1/incidents")).json()["total"] == 1
    finally:
        await analyst.aclose()
    kinds = [e["kind"] for e in (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()]
    assert "participant_added" in kinds


async def test_only_the_commander_or_an_admin_changes_who_sees_it(api: Api) -> None:
    opened = await api.responder.post("/api/v1/incidents", json={"title": "Odd logins", "severity": "P2"})
    ref = opened.json()["ref"]
    assert opened.json()["restricted"] is False
    refused = await api.responder.patch(f"/api/v1/incidents/{ref}", json={"restricted": True})
    assert refused.status_code == 403
    assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).status_code == 200  # nothing changed
    command = {"role": "incident_commander", "user": api.emails["responder"]}
    assert (await api.admin.post(f"/api/v1/incidents/{ref}/roles", json=command)).status_code == 200
    restricted = await api.responder.patch(f"/api/v1/incidents/{ref}", json={"restricted": True})
    assert restricted.status_code == 200 and restricted.json()["restricted"] is True
    assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).status_code == 404
    events = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    assert [e["data"] for e in events if e["kind"] == "restriction_changed"] == [{"restricted": True}]

    security = await declare_security(api)
    lifted = await api.admin.patch(f"/api/v1/incidents/{security}", json={"restricted": False})
    assert lifted.status_code == 422  # the procedure restricts the security type
    retyped = await api.admin.patch(f"/api/v1/incidents/{ref}", json={"restricted": False})
    assert retyped.status_code == 200 and retyped.json()["restricted"] is False
    moved = await api.admin.patch(f"/api/v1/incidents/{ref}", json={"type": "security"})
    assert moved.json()["restricted"] is True  # a type the procedure restricts restricts it


async def test_reads_are_logged_once_per_reader_per_window(api: Api) -> None:
    ref = await declare_security(api)
    for _ in range(3):
        assert (await api.admin.get(f"/api/v1/incidents/{ref}")).status_code == 200

    def reads(events: list[dict[str, object]]) -> list[object]:
        return [e["actor"] for e in events if e["kind"] == "accessed"]

    timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    assert reads(timeline) == [api.emails["admin"]]
    api.clock.advance(timedelta(minutes=16))
    assert (await api.admin.get(f"/api/v1/incidents/{ref}")).status_code == 200
    async with open_web(api) as web:
        assert (await web["admin"].client.get(f"/incidents/{ref}")).status_code == 200
    timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    assert reads(timeline) == [api.emails["admin"]] * 2

    added = await api.admin.post(
        f"/api/v1/incidents/{ref}/participants", json={"user": api.emails["responder"]}
    )
    assert added.status_code == 201
    assert (await api.admin.post(f"/api/v1/incidents/{ref}/review")).status_code == 201
    assert (await api.responder.get(f"/api/v1/incidents/{ref}/review/export.md")).status_code == 200
    timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    assert [e["data"]["via"] for e in timeline if e["kind"] == "accessed"] == ["api", "api", "export"]

    opened = await api.responder.post("/api/v1/incidents", json={"title": "Slow", "severity": "P3"})
    assert (await api.admin.get(f"/api/v1/incidents/{opened.json()['ref']}")).status_code == 200
    plain = (await api.admin.get(f"/api/v1/incidents/{opened.json()['ref']}/timeline")).json()
    assert reads(plain) == []  # only restricted incidents log reads


async def test_stakeholder_text_says_restricted_incident_without_the_title(api: Api) -> None:
    ref = await declare_security(api)
    preview = await api.admin.post(
        f"/api/v1/incidents/{ref}/updates/preview", json={"body": "We are investigating."}
    )
    assert preview.status_code == 200, preview.text
    assert preview.json() and TITLE not in preview.text
    assert f"restricted incident {ref}" in preview.text


async def test_slack_gets_a_private_neutral_channel_and_the_broadcast_channel_nothing(
    api: Api, slack: FakeSlack
) -> None:
    broadcast = WebClient(token=slack.token, base_url=slack.url).conversations_create(name="incidents")
    api.context.settings.slack_broadcast_channel = broadcast["channel"]["id"]
    ref = await declare_security(api, client=api.responder)
    await run_jobs(api)

    number = int(ref.split("-")[1])
    channel = slack.channel_named(f"sec-{number}")
    assert channel["is_private"] is True
    created = slack.calls_to("conversations.create")
    assert [c["name"] for c in created] == ["incidents", f"sec-{number}"]
    assert slack.channels[broadcast["channel"]["id"]]["messages"] == []
    assert len(channel["members"]) == 2  # the bot and who declared it

    open_incident = await api.responder.post(
        "/api/v1/incidents", json={"title": "Checkout down", "severity": "P1"}
    )
    assert open_incident.status_code == 201
    await run_jobs(api)
    assert len(slack.channels[broadcast["channel"]["id"]]["messages"]) == 1  # an open one still is posted


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as found:
        yield found


async def test_shared_teams_and_mattermost_webhooks_get_nothing(api: Api, sink: Sink) -> None:
    settings = api.context.settings
    settings.teams_webhook_url = SecretStr(f"{sink.url}/teams")
    settings.mattermost_webhook_url = SecretStr(f"{sink.url}/mattermost")
    ref = await declare_security(api)
    note = await api.admin.post(
        f"/api/v1/incidents/{ref}/updates", json={"audience": "internal", "body": "x"}
    )
    assert note.status_code == 201
    await run_jobs(api)
    assert sink.received == []


async def test_the_incident_page_restricts_for_the_commander_or_an_admin(api: Api) -> None:
    opened = await api.responder.post("/api/v1/incidents", json={"title": "Odd logins", "severity": "P2"})
    ref = opened.json()["ref"]
    async with open_web(api) as web:
        page = await web["responder"].client.get(f"/incidents/{ref}")
        assert 'action="/incidents/' + ref + '/restriction"' in page.text
        refused = await web["responder"].post(f"/incidents/{ref}/restriction", {"restricted": "1"})
        assert refused.status_code == 403
        assert (await web["viewer"].client.get(f"/incidents/{ref}")).status_code == 200
        done = await web["admin"].post(f"/incidents/{ref}/restriction", {"restricted": "1"})
        assert done.status_code == 303, done.text
        assert (await web["viewer"].client.get(f"/incidents/{ref}")).status_code == 404
        shown = await web["admin"].client.get(f"/incidents/{ref}")
        assert 'id="restricted-note"' in shown.text and "Lift the restriction" in shown.text
        assert "Nobody yet." in shown.text
        unknown = await web["admin"].post(f"/incidents/{ref}/participants", {"user": "nobody@test.warroom"})
        assert unknown.status_code == 422 and "nobody@test.warroom" in unknown.text
        let_in = await web["admin"].post(f"/incidents/{ref}/participants", {"user": api.emails["viewer"]})
        assert let_in.status_code == 303, let_in.text
        seen = await web["viewer"].client.get(f"/incidents/{ref}")
        assert seen.status_code == 200 and "Odd logins" in seen.text
        listed = (await web["admin"].client.get(f"/incidents/{ref}")).text
        assert f"({api.emails['viewer']}), added by Admin" in listed


async def test_pages_and_ack_links_of_its_alerts_name_only_the_restricted_incident(
    api: Api, sink: Sink
) -> None:
    key = await paging_setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await fire(api, key, dedup="dc01-mimikatz")
    await worker.run_once()
    assert "dc01-mimikatz alarm" in json.dumps(sink.bodies()[0])  # not yet on a restricted incident
    ref = await declare_security(api)
    attached = await api.admin.post("/api/v1/alerts/dc01-mimikatz/attach", json={"incident": ref})
    assert attached.status_code == 200, attached.text
    assert (await api.admin.post("/api/v1/alerts/dc01-mimikatz/escalate")).status_code == 200
    await worker.run_once()
    page = sink.bodies()[1]
    assert "dc01-mimikatz" not in json.dumps(page) and TITLE not in json.dumps(page)
    assert f"restricted incident {ref}" in json.dumps(page)
    link = str(page["ack_url"]).replace(api.context.settings.resolved_base_url(), "")
    shown = await api.anonymous.get(link)
    assert shown.status_code == 200 and f"Alert on restricted incident {ref}" in shown.text
    assert "dc01-mimikatz" not in shown.text and TITLE not in shown.text


async def test_its_alerts_are_hidden_from_those_who_may_not_see_it(api: Api, sink: Sink) -> None:
    key = await paging_setup(api, sink)
    await fire(api, key, dedup="dc01-mimikatz")
    await fire(api, key, dedup="disk-full")
    ref = await declare_security(api)
    attached = await api.admin.post("/api/v1/alerts/dc01-mimikatz/attach", json={"incident": ref})
    assert attached.status_code == 200, attached.text
    alert_id = attached.json()["id"]
    for role in ("responder", "viewer"):
        listed = (await api.clients[role].get("/api/v1/alerts")).json()
        assert [a["dedup_key"] for a in listed["items"]] == ["disk-full"], role
        assert listed["total"] == 1, role
        for path in (f"/api/v1/alerts/{alert_id}", f"/api/v1/alerts/{alert_id}/events"):
            assert (await api.clients[role].get(path)).status_code == 404, (role, path)
    refused = await api.responder.post(f"/api/v1/alerts/{alert_id}/acknowledge")
    assert refused.status_code == 404
    assert (await api.admin.get(f"/api/v1/alerts/{alert_id}")).json()["status"] == "triggered"
    assert (await api.admin.get("/api/v1/alerts")).json()["total"] == 2
    async with open_web(api) as web:
        for path in ("/", "/alerts", "/alerts?q=mimikatz"):
            page = await web["responder"].client.get(path)
            assert page.status_code == 200 and "dc01-mimikatz" not in page.text, path
        assert "dc01-mimikatz" in (await web["admin"].client.get("/alerts")).text
        acked = await web["responder"].post(f"/alerts/{alert_id}/acknowledge", {})
        assert acked.status_code == 404


async def test_an_open_live_stream_goes_quiet_once_the_incident_is_restricted(api: Api) -> None:
    opened = await api.responder.post("/api/v1/incidents", json={"title": "Odd logins", "severity": "P2"})
    ref, number = opened.json()["ref"], opened.json()["id"]
    async with api.context.db.read() as session:
        viewer = await session.get(User, 3)
    assert viewer is not None and viewer.role == "viewer"
    template = Template("{{ event.summary }}")
    watch = IncidentWatch(number, 0, True, template, viewer_of(viewer, api.context.procedure.procedure))
    note = {"audience": "internal", "body": "first"}
    assert (await api.responder.post(f"/api/v1/incidents/{ref}/updates", json=note)).status_code == 201
    heard = [chunk async for chunk in watch.on(api.context, [Change("timeline", number)])]
    assert any("Internal note" in chunk for chunk in heard)
    assert (await api.admin.patch(f"/api/v1/incidents/{ref}", json={"restricted": True})).status_code == 200
    note = {"audience": "internal", "body": "the attacker's IP is 203.0.113.7"}
    assert (await api.admin.post(f"/api/v1/incidents/{ref}/updates", json=note)).status_code == 201
    assert [chunk async for chunk in watch.on(api.context, [Change("timeline", number)])] == []
