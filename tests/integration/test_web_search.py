"""One search for everything (issue #19, item 5): a reference jumps to its page, text finds incidents,
alerts, services and people; each list holds only what the person may see. Both databases."""

from __future__ import annotations

from tests.integration.conftest import Api
from tests.integration.restricted_helpers import TITLE, declare_security
from tests.integration.web_helpers import open_web, text_of


async def test_a_reference_jumps_and_text_finds_each_kind(api: Api) -> None:
    await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    made = await api.responder.post("/api/v1/incidents", json={"title": "Checkout slow", "severity": "P3"})
    ref = made.json()["ref"]
    await declare_security(api)
    async with open_web(api) as web:
        client = web["responder"].client
        jumped = await client.get("/search", params={"q": ref.lower()})
        assert jumped.status_code == 303 and jumped.headers["location"] == f"/incidents/{ref}"
        assert (await client.get("/search", params={"q": "#7"})).headers["location"] == "/alerts/7"
        found = await client.get("/search", params={"q": "checkout"})
        said = text_of(found.text)
        assert found.status_code == 200 and f"{ref} Checkout slow" in said
        assert 'href="/services/checkout"' in found.text
        people = await client.get("/search", params={"q": "viewer"})
        assert api.emails["viewer"] in people.text
        hidden = await client.get("/search", params={"q": "domain admin"})
        assert TITLE not in hidden.text and 'id="nothing-found"' in hidden.text
        admin = await web["admin"].client.get("/search", params={"q": "domain admin"})
        assert TITLE in admin.text
        stakeholder = await web["stakeholder"].client.get("/search", params={"q": "checkout"})
        assert "Checkout slow" in stakeholder.text and 'id="found-services"' not in stakeholder.text
        assert (await web["stakeholder"].client.get("/search", params={"q": "#7"})).status_code == 200
        odd = await client.get("/search", params={"q": "100%_\\ off"})
        assert odd.status_code == 200 and 'id="nothing-found"' in odd.text
        nav = (await client.get("/")).text
        assert 'href="/search"' in nav and 'href="/stakeholders"' in nav
