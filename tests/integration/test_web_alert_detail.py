"""An alert's own page (issue #19, item 3): the list's rows link to it, and it shows labels and details,
the raw request, who was paged by which channel and what became of it, the escalation's next step and when,
and the incident it joined; a sender's non-web link is not made a link; an alert on a restricted incident
is a 404 to those who may not see the incident. Both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from tests.integration.restricted_helpers import declare_security
from tests.integration.test_paging import setup as paging_setup
from tests.integration.web_helpers import open_web, text_of
from warroom.wiring import new_worker


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as found:
        yield found


async def test_an_alert_page_shows_what_paged_whom_and_what_comes_next(api: Api, sink: Sink) -> None:
    await paging_setup(api, sink)
    made = await api.admin.post("/api/v1/integrations", json={"kind": "alertmanager", "service": "checkout"})
    fired = {
        "labels": {"alertname": "DbDown", "region": "eu-west-1", "severity": "critical"},
        "annotations": {"summary": "db-down alarm", "runbook_url": "javascript:alert(1)"},
        "generatorURL": "https://prometheus.example.org/graph", "status": "firing",
    }  # fmt: skip
    body = {"version": "4", "status": "firing", "groupKey": "db", "alerts": [fired]}
    sent = await api.anonymous.post(f"/intake/alertmanager/{made.json()['key']}", json=body)
    assert sent.status_code in (200, 202), sent.text
    await new_worker(api.context, periodic=()).run_once()
    alert = (await api.responder.get("/api/v1/alerts")).json()["items"][0]
    async with open_web(api) as web:
        listed = (await web["responder"].client.get("/alerts")).text
        assert f'href="/alerts/{alert["id"]}"' in listed
        page = await web["responder"].client.get(f"/alerts/{alert['id']}")
        assert page.status_code == 200
        said = text_of(page.text)
        assert "region eu-west-1" in said and "Not part of an incident" in said
        assert "Escalation active on policy Checkout" in said
        assert "round 1, next step 2, due 2026-03-02 10:05" in said  # the policy's second step, 5 min on
        pages = page.text[page.text.index('id="pages"') :]
        assert "Responder" in pages and "webhook" in pages and "sent" in pages
        assert json.dumps("db-down alarm") in page.text  # the raw request, indented
        assert 'href="javascript:' not in page.text and "(not a web address)" in page.text
        assert 'href="https://prometheus.example.org/graph"' in page.text
        ref = (await api.responder.post("/api/v1/incidents", json={"title": "DB", "severity": "P3"})).json()[
            "ref"
        ]
        attached = await api.responder.post(f"/api/v1/alerts/{alert['id']}/attach", json={"incident": ref})
        assert attached.status_code == 200
        joined = await web["responder"].client.get(f"/alerts/{alert['id']}")
        assert f'<a href="/incidents/{ref}">{ref}</a>' in joined.text
        incident_page = (await web["responder"].client.get(f"/incidents/{ref}")).text
        assert f'href="/alerts/{alert["id"]}"' in incident_page
        assert (await web["stakeholder"].client.get(f"/alerts/{alert['id']}")).status_code == 403
        assert (await web["responder"].client.get("/alerts/999999")).status_code == 404


async def test_an_alert_on_a_restricted_incident_is_not_found_by_outsiders(api: Api, sink: Sink) -> None:
    key = await paging_setup(api, sink)
    assert (
        await api.anonymous.post(f"/intake/webhook/{key}", json={"id": "mimikatz", "title": "x"})
    ).status_code == 202
    alert_id = (await api.admin.get("/api/v1/alerts/mimikatz")).json()["id"]
    ref = await declare_security(api)
    assert (await api.admin.post("/api/v1/alerts/mimikatz/attach", json={"incident": ref})).status_code == 200
    async with open_web(api) as web:
        assert (await web["responder"].client.get(f"/alerts/{alert_id}")).status_code == 404
        assert (await web["admin"].client.get(f"/alerts/{alert_id}")).status_code == 200
