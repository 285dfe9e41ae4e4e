"""Observables, TLP on the ways out, extraction from attached alerts, and assets with their surfaces,
through the API on both databases (issue #15 §3)."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Api
from tests.integration.web_helpers import open_web, text_of


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def declare(api: Api, kind: str = "outage", **extra: Any) -> str:
    body = {"title": f"{kind} incident", "severity": "P2", "type": kind, **extra}
    return str((await ok(await api.admin.post("/api/v1/incidents", json=body), 201))["ref"])


def observables(api: Api, ref: str) -> str:
    return f"/api/v1/incidents/{ref}/observables"


async def test_one_or_a_pasted_list_validated_normalised_and_merged(api: Api) -> None:
    ref = await declare(api)
    one = await ok(
        await api.responder.post(
            observables(api, ref), json={"type": "ip", "value": "203.0.113.7", "ioc": True, "tags": ["c2"]}
        ),
        201,
    )
    (added,) = one["added"]
    assert (added["type"], added["value"], added["tlp"], added["ioc"], added["tags"]) == (
        "ip",
        "203.0.113.7",
        "green",
        True,
        ["c2"],
    )
    assert added["source"] == "added by hand" and added["added_by"]["email"] == api.emails["responder"]
    pasted = "\n".join(
        [
            "# from the vendor's report",
            "hxxps://c2.evil[.]example/beacon",
            "203[.]0[.]113[.]7",
            "hostname: FS-01",
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "ip: 999.0.0.1",
            "mimikatz --dump",
        ]
    )
    bulk = await ok(
        await api.responder.post(observables(api, ref), json={"text": pasted, "tlp": "amber"}), 201
    )
    assert [(o["type"], o["value"]) for o in bulk["added"]] == [
        ("url", "https://c2.evil.example/beacon"),
        ("hostname", "fs-01"),
        ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ]
    assert [o["value"] for o in bulk["merged"]] == ["203.0.113.7"]
    assert [(r["line"], r["value"]) for r in bulk["refused"]] == [
        (6, "ip: 999.0.0.1"),
        (7, "mimikatz --dump"),
    ]
    assert "not an IPv4 or IPv6 address" in bulk["refused"][0]["problem"]
    listed = await ok(await api.viewer.get(observables(api, ref)))
    assert len(listed) == 4 and {o["tlp"] for o in listed} == {"green", "amber"}
    timeline = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))
    assert [e["kind"] for e in timeline].count("observable_added") == 2
    nothing = await api.responder.post(observables(api, ref), json={"text": "ip: 1.2.3\nwho knows what"})
    assert nothing.status_code == 422 and "not an IPv4" in nothing.text
    assert len(await ok(await api.viewer.get(observables(api, ref)))) == 4


async def test_change_and_remove_and_who_may(api: Api) -> None:
    ref = await declare(api)
    (item,) = (
        await ok(
            await api.responder.post(observables(api, ref), json={"type": "domain", "value": "evil.example"}),
            201,
        )
    )["added"]
    path = f"{observables(api, ref)}/{item['id']}"
    changed = await ok(
        await api.responder.patch(path, json={"tlp": "red", "sighted": True, "tags": ["phish"]})
    )
    assert (changed["tlp"], changed["sighted"], changed["tags"]) == ("red", True, ["phish"])
    assert (await api.responder.patch(path, json={"tlp": "purple"})).status_code == 422
    assert (
        await api.viewer.post(observables(api, ref), json={"type": "ip", "value": "1.1.1.1"})
    ).status_code == 403
    assert (await api.viewer.delete(path)).status_code == 403
    assert (await api.stakeholder.get(observables(api, ref))).status_code == 403
    assert (await api.responder.delete(path)).status_code == 204
    assert (await api.responder.delete(path)).status_code == 404
    kinds = [e["kind"] for e in await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))]
    assert kinds[-2:] == ["observable_changed", "observable_removed"]


async def test_a_restricted_incident_hides_its_observables_and_defaults_to_amber(api: Api) -> None:
    ref = await declare(api, "security")
    added = await ok(
        await api.admin.post(observables(api, ref), json={"type": "user", "value": "svc-backup"}), 201
    )
    assert added["added"][0]["tlp"] == "amber"
    for who in ("responder", "viewer"):
        assert (await api.clients[who].get(observables(api, ref))).status_code == 404
    sneaky = await api.responder.post(observables(api, ref), json={"type": "ip", "value": "1.1.1.1"})
    assert sneaky.status_code == 404 and "no incident" in sneaky.text


async def test_an_attached_alert_brings_its_observables(api: Api) -> None:
    await ok(await api.admin.post("/api/v1/services", json={"slug": "edr", "name": "EDR"}), 201)
    made = await ok(
        await api.admin.post("/api/v1/integrations", json={"kind": "pagerduty", "service": "edr"}), 201
    )
    event = {
        "routing_key": made["key"],
        "event_action": "trigger",
        "dedup_key": "beacon-fs01",
        "payload": {
            "summary": "Beacon from FS-01 to c2.evil.example",
            "source": "edr",
            "severity": "critical",
            "custom_details": {
                "src_ip": "10.20.0.15",
                "user": "CORP\\jdoe",
                "hostname": "FS-01",
                "sha256": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "note": "seen calling hxxps://c2.evil[.]example/x",
            },
        },
    }
    assert (await api.anonymous.post("/v2/enqueue", json=event)).status_code == 202
    (alert,) = (await ok(await api.admin.get("/api/v1/alerts")))["items"]
    extracted = await ok(await api.viewer.get(f"/api/v1/alerts/{alert['id']}/observables"))
    where = {(o["type"], o["value"]): o["where"] for o in extracted}
    assert where[("ip", "10.20.0.15")].endswith("src_ip") and ("user", "CORP\\jdoe") in where
    assert ("url", "https://c2.evil.example/x") in where and ("hostname", "fs-01") in where
    ref = await declare(api, "security")
    await ok(await api.admin.post(f"/api/v1/alerts/{alert['id']}/attach", json={"incident": ref}))
    stored = {(o["type"], o["value"]): o for o in await ok(await api.admin.get(observables(api, ref)))}
    assert set(stored) == set(where)
    ip = stored[("ip", "10.20.0.15")]
    assert (
        ip["tlp"] == "amber"
        and ip["alert_id"] == alert["id"]
        and ip["source"].startswith(f"alert #{alert['id']}")
    )
    timeline = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))
    (event_added,) = [e for e in timeline if e["kind"] == "observable_added"]
    assert event_added["data"]["source"] == f"alert #{alert['id']}"


async def test_tlp_amber_and_up_never_leaves_the_response_team(api: Api) -> None:
    ref = await declare(api)
    await ok(
        await api.admin.post(
            observables(api, ref), json={"type": "ip", "value": "198.51.100.23", "tlp": "amber+strict"}
        ),
        201,
    )
    update = {"audience": "stakeholder", "body": "We blocked 198[.]51[.]100[.]23 at the edge."}
    refused = await api.admin.post(f"/api/v1/incidents/{ref}/updates", json=update)
    assert refused.status_code == 422 and "TLP:AMBER+STRICT" in refused.text
    note = {"audience": "internal", "body": "Blocked 198.51.100.23 at the edge."}
    await ok(
        await api.admin.post(f"/api/v1/incidents/{ref}/updates", json=note), 201
    )  # inside the team: fine
    status = {
        "name": "Checkout errors",
        "status": "investigating",
        "impact": "minor",
        "incident": ref,
        "body": "Traffic from 198.51.100.23 is being blocked.",
    }
    public = await api.admin.post("/api/v1/status-page/incidents", json=status)
    assert public.status_code == 422 and "public status page" in public.text
    (item,) = await ok(await api.admin.get(observables(api, ref)))
    await ok(await api.admin.patch(f"{observables(api, ref)}/{item['id']}", json={"tlp": "clear"}))
    await ok(await api.admin.post(f"/api/v1/incidents/{ref}/updates", json=update), 201)
    updates = await ok(await api.admin.get(f"/api/v1/incidents/{ref}/updates"))
    assert [u["audience"] for u in updates].count("stakeholder") == 1


async def test_assets_and_the_surfaces_of_a_multi_vector_attack(api: Api) -> None:
    await ok(await api.admin.post("/api/v1/services", json={"slug": "shop", "name": "Shop"}), 201)
    ref = await declare(api, services=["shop"])
    host = await ok(
        await api.responder.post(
            "/api/v1/assets", json={"kind": "host", "name": "fs-01", "surface": "endpoint"}
        ),
        201,
    )
    again = await ok(
        await api.responder.post(
            "/api/v1/assets", json={"kind": "host", "name": "fs-01", "surface": "endpoint"}
        ),
        201,
    )
    assert again["id"] == host["id"]
    link = f"/api/v1/incidents/{ref}/assets"
    one = await ok(await api.responder.post(link, json={"asset": host["id"]}))
    assert (one["surfaces"], one["multi_vector"]) == (["endpoint", "application"], False)
    account = {"kind": "account", "name": "svc-backup", "surface": "identity"}
    task = await ok(
        await api.responder.post(f"/api/v1/incidents/{ref}/tasks", json={"title": "reset svc"}), 201
    )
    both = await ok(
        await api.responder.post(f"/api/v1/incidents/{ref}/tasks/{task['id']}/assets", json={"new": account})
    )
    assert both["surfaces"] == ["endpoint", "identity", "application"] and both["multi_vector"] is True
    assert [a["name"] for a in both["assets"]] == ["fs-01", "svc-backup"]
    assert (await api.responder.post(link, json={"asset": 999})).status_code == 404
    assert (await api.responder.post(link, json={})).status_code == 422
    assert (await api.viewer.post(link, json={"asset": host["id"]})).status_code == 403
    assert (await ok(await api.viewer.get(f"/api/v1/incidents/{ref}/surfaces")))["multi_vector"] is True
    kinds = [e["kind"] for e in await ok(await api.admin.get(f"/api/v1/incidents/{ref}/timeline"))]
    assert kinds.count("asset_linked") == 2


async def test_the_incident_page_lists_observables_and_refuses_a_bad_paste_whole(api: Api) -> None:
    ref = await declare(api, "security")
    await ok(
        await api.admin.post(f"/api/v1/incidents/{ref}/participants", json={"user": api.emails["responder"]}),
        201,
    )
    async with open_web(api) as web:
        bad = await web["responder"].post(f"/incidents/{ref}/observables", {"text": "203.0.113.7\nip: 1.2.3"})
        assert bad.status_code == 422 and "line 2 (ip: 1.2.3)" in text_of(bad.text)
        assert await ok(await api.admin.get(observables(api, ref))) == []  # nothing of it was kept
        good = await web["responder"].post(
            f"/incidents/{ref}/observables", {"text": "203[.]0[.]113[.]7", "tlp": "red"}
        )
        assert good.status_code == 303
        page = text_of((await web["responder"].client.get(f"/incidents/{ref}")).text)
        assert "TLP:RED ip 203.0.113.7" in page
        added = await web["responder"].post(f"/incidents/{ref}/assets", {"kind": "host", "name": "fs-01",
                                                                        "surface": "endpoint"})  # fmt: skip
        assert added.status_code == 303
        assert "host fs-01 (endpoint)" in text_of(
            (await web["responder"].client.get(f"/incidents/{ref}")).text
        )
