"""The metrics page on both databases: figures from the milestones, charts, filters, and who may see it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.conftest import Api
from tests.integration.test_metrics_api import declare, one_full_incident
from tests.integration.web_helpers import Web, open_web, text_of


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Web]:
    async with open_web(api) as found:
        yield found


async def test_the_metrics_page_shows_figures_charts_and_a_table(web: Web) -> None:
    api = web.api
    await one_full_incident(api)
    await declare(api, title="Game day", drill=True)
    page = await web["viewer"].client.get("/reports", params={"period": "30d"})
    assert page.status_code == 200, page.text
    shown = text_of(page.text)
    assert 'id="figure-incidents">1<' in page.text
    assert 'id="figure-compliance">100%<' in page.text
    assert 'id="figure-time_to_acknowledge">10 min<' in page.text
    assert 'id="figure-time_to_resolve">1 h 35 min<' in page.text
    assert page.text.count('<rect class="bar"') >= 3 and "Incidents per month" in shown
    assert "drills left out" in shown
    with_drills = await web["viewer"].client.get("/reports", params={"drills": "true", "group_by": "type"})
    assert 'id="figure-incidents">2<' in with_drills.text and "By type" in text_of(with_drills.text)
    odd = await web["viewer"].client.get("/reports", params={"period": "7y", "group_by": "colour"})
    assert odd.status_code == 200 and "By severity" in text_of(odd.text)  # unknown choices fall back
    assert (await web["stakeholder"].client.get("/reports")).status_code == 403
