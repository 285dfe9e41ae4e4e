"""Schedules and rotations edited in the browser on both databases (issue #19 item 8): an admin creates a
schedule with its first rotation by picking people in turn order, changes the rotation, adds and removes
one; a refused form says why by the field and keeps what was typed; only admins may."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tests.integration.conftest import Api
from tests.integration.web_helpers import Web, field_error, field_value, open_web, text_of


@pytest.fixture
async def web(api: Api) -> AsyncIterator[Web]:
    async with open_web(api) as found:
        yield found


def rotation(**changes: str) -> dict[str, str]:
    return {"layer_name": "Weekly", "participant-0": "", "participant-1": "", "participant-2": "",
            "start": "2026-12-07T09:00", "layer_zone": "Europe/Berlin", "shift_length": "1",
            "shift_unit": "weeks", "end": "", **changes}  # fmt: skip


async def test_a_schedule_and_its_rotations_from_the_browser(web: Web) -> None:
    api, admin = web.api, web["admin"]
    first, second = api.emails["responder"], api.emails["admin"]
    page = await admin.client.get("/schedules")
    assert "New schedule" in text_of(page.text) and 'id="new-schedule-participant-0"' in page.text
    both = rotation(**{"participant-0": first, "participant-1": second})
    made = await admin.post("/schedules", {"slug": "primary", "name": "Primary", **both})
    assert made.status_code == 303, made.text
    saved = (await api.admin.get("/api/v1/schedules/primary")).json()
    (layer,) = saved["layers"]
    assert [p for p in layer["participants"]] and layer["shift_unit"] == "weeks"
    assert layer["start"].startswith("2026-12-07T08:00")  # 09:00 in Berlin is 08:00 UTC
    order = [p["email"] if isinstance(p, dict) else p for p in layer["participants"]]

    shown = await admin.client.get("/schedules")
    prefix = f"primary-layer-{layer['id']}"
    assert re.search(
        rf'id="{prefix}-participant-0".*?<option value="{re.escape(first)}" selected', shown.text, re.S
    )
    assert field_value(shown.text, f"{prefix}-start") == "2026-12-07T09:00"  # in the rotation's own zone

    swapped = rotation(
        **{"participant-0": second, "participant-1": first, "shift_length": "2", "shift_unit": "days"}
    )
    assert (await admin.post(f"/schedules/primary/layers/{layer['id']}", swapped)).status_code == 303
    (changed,) = (await api.admin.get("/api/v1/schedules/primary")).json()["layers"]
    assert (changed["shift_length"], changed["shift_unit"]) == (2, "days")
    assert [p["email"] if isinstance(p, dict) else p for p in changed["participants"]] == order[::-1]

    nobody = await admin.post("/schedules/primary/layers", rotation(layer_name="Weekend"))
    assert nobody.status_code == 422
    assert field_error(nobody.text, "primary-new-layer-participant-0") == "choose who takes turns"
    assert field_value(nobody.text, "primary-new-layer-layer_name") == "Weekend"  # kept as typed
    bad_zone = await admin.post(
        "/schedules/primary/layers", rotation(**{"participant-0": first, "layer_zone": "Mars/Olympus"})
    )
    assert bad_zone.status_code == 422 and "Mars/Olympus" in (
        field_error(bad_zone.text, "primary-new-layer-layer_zone") or ""
    )
    added = await admin.post(
        "/schedules/primary/layers", rotation(layer_name="Weekend", **{"participant-0": first})
    )
    assert added.status_code == 303
    layers = (await api.admin.get("/api/v1/schedules/primary")).json()["layers"]
    assert sorted(item["name"] for item in layers) == ["Weekend", "Weekly"]
    weekend = next(item for item in layers if item["name"] == "Weekend")
    assert (await admin.post(f"/schedules/primary/layers/{weekend['id']}/delete", {})).status_code == 303
    assert [item["name"] for item in (await api.admin.get("/api/v1/schedules/primary")).json()["layers"]] == [
        "Weekly"
    ]

    again = await admin.post(
        "/schedules", {"slug": "primary", "name": "Again", **rotation(**{"participant-0": first})}
    )
    assert again.status_code == 409 and "already exists" in text_of(again.text)
    for who in ("responder", "viewer"):
        refused = await web[who].post(
            "/schedules", {"slug": "x", "name": "X", **rotation(**{"participant-0": first})}
        )
        assert refused.status_code == 403
    assert 'id="new-schedule-slug"' not in (await web["responder"].client.get("/schedules")).text
