"""Stakeholder updates in the web UI on both databases: the update form's audiences, the due clock in the
incident header, and the stakeholder lists page with its refusals and read-only roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tests.integration.conftest import Api
from tests.integration.web_helpers import Web, field_error, open_web, text_of


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Web]:
    async with open_web(api) as found:
        yield found


async def p2(api: Api) -> str:
    made = await api.responder.post("/api/v1/incidents", json={"title": "Search is down", "severity": "P2"})
    return str(made.json()["ref"])


async def test_lists_are_kept_on_their_page_and_refusals_keep_what_was_typed(web: Web) -> None:
    me = web["responder"]
    added = await me.post("/stakeholders/executives", {"channel": "email", "address": "cto@example.com"})
    assert added.status_code == 303 and added.headers["location"].endswith("/stakeholders#list-executives")
    refused = await me.post("/stakeholders/internal", {"channel": "email", "address": "support-at-example"})
    assert refused.status_code == 422
    assert (
        field_error(refused.text, "add-internal-address")
        == "an email address, such as support-leads@example.com"
    )
    assert 'value="support-at-example"' in refused.text
    page = (await me.client.get("/stakeholders")).text
    assert "cto@example.com" in page and "support-at-example" not in text_of(page)
    assert "external: never gets internal links or responder names" in page
    rows = (await web.api.viewer.get("/api/v1/stakeholders")).json()
    assert [(r["audience"], r["address"]) for r in rows] == [("executives", "cto@example.com")]
    viewer = web["viewer"]
    seen = (await viewer.client.get("/stakeholders")).text
    assert "cto@example.com" in seen and "Add to Executives" not in seen and ">remove<" not in seen
    assert (await viewer.post("/stakeholders/internal", {"address": "x@example.com"})).status_code == 403
    removed = await me.post(f"/stakeholders/executives/{rows[0]['id']}/remove", {})
    assert removed.status_code == 303
    assert (await web.api.viewer.get("/api/v1/stakeholders")).json() == []


async def test_the_update_form_sends_to_the_ticked_audiences_and_the_header_shows_when_the_next_is_due(
    web: Web,
) -> None:
    api, me = web.api, web["responder"]
    for audience, address in (("internal", "support@example.com"), ("customers", "vip@example.com")):
        row = {"audience": audience, "address": address}
        assert (await api.responder.post("/api/v1/stakeholders", json=row)).status_code == 201
    ref = await p2(api)
    page = (await me.client.get(f"/incidents/{ref}")).text
    for audience in ("internal", "executives", "customers"):
        assert f'name="audiences" value="{audience}" checked' in page
    assert "Next stakeholder update" in page and "1 h left" in text_of(page)  # P2: every hour
    api.clock.advance(timedelta(minutes=70))
    late = text_of((await me.client.get(f"/incidents/{ref}")).text)
    assert "overdue 10 min" in late
    form = {"audience": "stakeholder", "body": "Search is back for most users.", "audiences_shown": "1",
            "audiences": ["customers"]}  # fmt: skip
    posted = await me.post(f"/incidents/{ref}/updates", form)
    assert posted.status_code == 303
    event = (await api.responder.get(f"/api/v1/incidents/{ref}/timeline")).json()[-1]
    assert (event["kind"], event["data"]["audiences"], event["data"]["messages"]) == (
        "stakeholder_update",
        ["customers"],
        1,
    )
    page = (await me.client.get(f"/incidents/{ref}")).text
    assert "Stakeholder update to customers (1 message)" in text_of(page)
    assert "1 h left" in text_of(page)
    nobody = {"audience": "stakeholder", "body": "Timeline only.", "audiences_shown": "1"}
    assert (await me.post(f"/incidents/{ref}/updates", nobody)).status_code == 303
    last = (await api.responder.get(f"/api/v1/incidents/{ref}/timeline")).json()[-1]
    assert last["data"]["audiences"] == [] and last["data"]["messages"] == 0
