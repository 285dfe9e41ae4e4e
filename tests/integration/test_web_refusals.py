"""A refused action on the incident page (issue #19, item 1): the browser is sent back to the incident's
own address (post/redirect/get), the reason is said in words at the top of the page, above the header, and
the form is open with what was typed; a reload shows the page as it is, without the refusal; a form too big
to carry back is shown in place. Both databases."""

from __future__ import annotations

from tests.integration.conftest import Api
from tests.integration.web_helpers import REFUSED_COOKIE, field_value, open_web, text_of


async def _declared(api: Api) -> str:
    answer = await api.responder.post("/api/v1/incidents", json={"title": "Checkout down", "severity": "P1"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["ref"])


async def test_a_refused_phase_move_comes_back_to_the_incident_saying_why_at_the_top(api: Api) -> None:
    ref = await _declared(api)
    async with open_web(api) as web:
        browser = web["responder"]
        body = {"csrf_token": await browser.csrf(), "phase": "containment", "reason": "rolling back now"}
        posted = await browser.client.post(f"/incidents/{ref}/phase", data=body)
        # To the banner, not the form: a browser scrolls to the anchor, and the reason must be in sight.
        assert posted.status_code == 303 and posted.headers["location"] == f"/incidents/{ref}#refused"
        assert REFUSED_COOKIE in posted.cookies
        shown = await browser.client.get(posted.headers["location"])
        assert shown.status_code == 409
        page = shown.text
        banner = page.index('id="refused"')
        assert banner < page.index("<h1>")  # above the incident's header, so above the fold
        said = text_of(page[banner : page.index("</div>", banner)])
        assert "Not done:" in said and "Incident commander" in said and "incident_commander" not in said
        assert field_value(page, "phase-reason") == "rolling back now" and 'id="phase" open' in page
        again = await browser.client.get(f"/incidents/{ref}")
        assert again.status_code == 200 and 'id="refused"' not in again.text


async def test_a_refusal_too_big_to_carry_is_shown_in_place(api: Api) -> None:
    ref = await _declared(api)
    async with open_web(api) as web:
        long_reason = "because " * 600  # about 4,800 characters: more than a cookie should carry
        refused = await web["responder"].post(
            f"/incidents/{ref}/phase", {"phase": "containment", "reason": long_reason}
        )
        assert refused.status_code == 409
        assert 'id="refused"' in refused.text and long_reason.strip() in refused.text


async def test_a_forged_or_stale_refusal_is_ignored(api: Api) -> None:
    ref = await _declared(api)
    async with open_web(api) as web:
        client = web["responder"].client
        client.cookies.set(REFUSED_COOKIE, "forged.value.here")
        shown = await client.get(f"/incidents/{ref}")
        assert shown.status_code == 200 and 'id="refused"' not in shown.text
