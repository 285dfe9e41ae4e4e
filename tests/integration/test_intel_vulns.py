"""Vulnerabilities from STIX 2.1 (issue #16), on both databases: a bundle's `vulnerability` objects,
related to the `software` they affect and to the malware that exploits them, against what services declare
by CPE or by name and version."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Api
from tests.integration.test_intel import SINCE, bundle, ok, work
from warroom.intel.vulnerability import NotACpe, parse_cpe


def sdo(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{uuid.uuid4()}",
        "created": SINCE,
        "modified": SINCE,
        **fields,
    }


def relationship(kind: str, source: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    return sdo("relationship", relationship_type=kind, source_ref=source["id"], target_ref=target["id"])


def test_cpe_names_read_as_vendor_product_and_version() -> None:
    assert parse_cpe("cpe:2.3:a:openssl:openssl:3.0.1:*:*:*:*:*:*:*") == parse_cpe(
        "cpe:/a:openssl:openssl:3.0.1"
    )
    assert parse_cpe("cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*").version is None
    assert parse_cpe(r"cpe:2.3:a:acme:widget\:pro:2.0:*:*:*:*:*:*:*").name == "widget:pro"
    assert parse_cpe("cpe:/a:acme:big%20app:1.0").name == "big app"
    for bad in ("openssl 3.0.1", "cpe:2.3:a:acme", "cpe:2.3:x:acme:thing:1", "cpe:2.3:a:acme:*:1"):
        with pytest.raises(NotACpe):
            parse_cpe(bad)


async def test_a_stix_vulnerability_in_declared_software_is_a_task(api: Api, tmp_path: Path) -> None:
    team = {"slug": "edge", "name": "Edge", "members": [api.emails["responder"]]}
    await ok(await api.admin.post("/api/v1/teams", json=team), 201)
    await ok(
        await api.admin.post("/api/v1/services", json={"slug": "gw", "name": "Gateway", "team": "edge"}), 201
    )
    declared = {
        "software": [
            {"cpe": "cpe:2.3:a:openssl:openssl:3.0.1:*:*:*:*:*:*:*"},
            {"name": "Envoy", "version": "1.28.0"},
        ]
    }
    assert await ok(await api.admin.put("/api/v1/intel/software/gw", json=declared)) == []
    listed = await ok(await api.viewer.get("/api/v1/intel/software/gw"))
    assert {(s["name"], s["version"]) for s in listed} == {("openssl", "3.0.1"), ("envoy", "1.28.0")}
    refused = await api.admin.put("/api/v1/intel/software/gw", json={"software": [{"cpe": "openssl 3"}]})
    assert refused.status_code == 422 and "not a CPE name" in refused.text
    assert len(await ok(await api.viewer.get("/api/v1/intel/software/gw"))) == 2  # unchanged

    heartbleed_like = sdo(
        "vulnerability",
        name="CVE-2026-1111",
        description="Overflow in the TLS heartbeat",
        labels=["critical"],
        external_references=[{"source_name": "cve", "external_id": "CVE-2026-1111"}],
    )
    openssl = sdo("software", name="OpenSSL", cpe="cpe:2.3:a:openssl:openssl:3.0.1:*:*:*:*:*:*:*")
    openssl_old = sdo("software", name="OpenSSL", vendor="openssl", version="1.1.1")
    malware = sdo("malware", name="Bleeder", is_family=True)
    other = sdo("vulnerability", name="CVE-2026-2222", labels=["high"])
    envoy_next = sdo("software", name="envoy", version="1.29.0")  # not the declared 1.28.0
    orphan = sdo("vulnerability", name="CVE-2026-3333")  # related to no software: passed over
    no_cve = sdo("vulnerability", name="A flaw with no id")
    url = bundle(
        tmp_path / "vulns.json",
        heartbleed_like, openssl, openssl_old, malware, other, envoy_next, orphan, no_cve,
        relationship("has", openssl, heartbleed_like),
        relationship("has", openssl_old, heartbleed_like),
        relationship("exploits", malware, heartbleed_like),
        relationship("has", envoy_next, other),
    )  # fmt: skip
    feed = {"slug": "vulns", "name": "Vendor advisories", "kind": "stix", "url": url}
    await ok(await api.admin.post("/api/v1/intel/feeds", json=feed), 201)
    await work(api, 1)
    (state,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
    assert state["last_counts"] == {
        "added": 0, "updated": 0, "rejected": 1, "vulnerabilities": 2, "findings": 1,
    }, state  # fmt: skip
    assert "without a CVE id" in state["last_error"]
    (finding,) = await ok(await api.viewer.get("/api/v1/intel/vulnerabilities"))
    assert (finding["cve"], finding["service"], finding["team"], finding["software"]) == (
        "CVE-2026-1111",
        "gw",
        "edge",
        "openssl 3.0.1",
    )
    # Exploited by the bundle's malware: two weeks, not the 15 days of "critical".
    assert (finding["severity"], finding["exploited"]) == ("critical", True)
    assert finding["due_on"] == (api.clock.now().date() + timedelta(days=14)).isoformat()

    await work(api, 1)  # nothing new on a re-poll: no second finding
    assert len(await ok(await api.viewer.get("/api/v1/intel/vulnerabilities"))) == 1
