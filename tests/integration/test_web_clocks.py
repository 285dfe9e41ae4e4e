"""The response-target clock warns before it is missed (issue #19, item 2): amber from half the target,
red from 80%, then overdue; with units, on the incident page, the dashboard and in the API."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.conftest import Api
from tests.integration.web_helpers import open_web


async def test_the_clock_turns_amber_then_red_then_overdue(api: Api) -> None:
    declared = await api.responder.post(
        "/api/v1/incidents", json={"title": "Checkout down", "severity": "P1"}
    )
    ref = declared.json()["ref"]  # P1: respond within 15 minutes
    async with open_web(api) as web:
        for minutes, state, said in (
            (2, "ok", "13 min left"),
            (8, "warn", "7 min left"),
            (12.5, "urgent", "2 min 30 s left"),
            (16, "overdue", "overdue 1 min"),
        ):
            api.clock.set(api.clock.now().replace(hour=10, minute=0) + timedelta(minutes=minutes))
            shown = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["response_target"]
            assert shown["state"] == state, minutes
            for path in (f"/incidents/{ref}", "/"):
                page = (await web["viewer"].client.get(path)).text
                assert f'class="clock {state}"' in page and said in page, (path, minutes)
        assert (await api.responder.post(f"/api/v1/incidents/{ref}/acknowledge")).status_code == 200
        assert (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()["response_target"][
            "state"
        ] == "missed"
        assert "target missed" in (await web["viewer"].client.get(f"/incidents/{ref}")).text
