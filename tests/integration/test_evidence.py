"""Evidence with its chain of custody, through the API on both databases (issue #15 §3): stored once by
sha256, never served inline, every download and hand-over on the hash-chained timeline, and `warroom audit
verify` catching a file that changed on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tests import cli
from tests.integration.conftest import Api
from tests.integration.test_cli_admin import fails_with_one_line
from tests.process import plain

MEMORY = b"MDMP\x93\xa7" + bytes(range(256)) * 64


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def declare(api: Api, kind: str = "ransomware") -> str:
    body = {"title": "Files encrypted", "severity": "P1", "type": kind}
    return str((await ok(await api.admin.post("/api/v1/incidents", json=body), 201))["ref"])


async def upload(api: Api, ref: str, content: bytes, name: str = "fs-01.mem", **form: str) -> Any:
    files = {"file": (name, content, "application/octet-stream")}
    data = {"description": "memory image", "collected_from": "fs-01", **form}
    return await api.admin.post(f"/api/v1/incidents/{ref}/evidence", files=files, data=data)


async def test_upload_store_once_download_as_attachment_and_the_chain_of_custody(
    api: Api, data_dir: Path
) -> None:
    ref = await declare(api)
    item = await ok(await upload(api, ref, MEMORY, collected_at="2026-03-02T09:40:00Z"), 201)
    digest = hashlib.sha256(MEMORY).hexdigest()
    assert (item["sha256"], item["size"], item["filename"]) == (digest, len(MEMORY), "fs-01.mem")
    assert item["collected_from"] == "fs-01" and item["collected_at"].startswith("2026-03-02T09:40")
    assert item["holder"]["email"] == api.emails["admin"]
    stored = data_dir / "evidence" / digest[:2] / digest[2:4] / digest
    assert stored.read_bytes() == MEMORY
    again = await ok(await upload(api, ref, MEMORY, name="../../etc/passwd.mem"), 201)
    assert again["id"] != item["id"] and again["filename"] == "passwd.mem"
    assert [p.name for p in (data_dir / "evidence").rglob("*") if p.is_file()] == [digest]  # stored once
    path = f"/api/v1/incidents/{ref}/evidence/{item['id']}"
    got = await api.admin.get(f"{path}/download")
    assert got.status_code == 200 and got.content == MEMORY
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"] == 'attachment; filename="fs-01.mem"'
    assert got.headers["x-content-type-options"] == "nosniff" and got.headers["x-evidence-sha256"] == digest
    lab = {"to": api.emails["responder"], "note": "to the forensics lab"}
    handed = await ok(await api.admin.post(f"{path}/handover", json=lab))
    assert handed["holder"]["email"] == api.emails["responder"]
    assert (await api.admin.post(f"{path}/handover", json={"to": api.emails["responder"]})).status_code == 409
    assert (await api.admin.post(f"{path}/handover", json={"to": "nobody@nowhere"})).status_code == 422
    custody = await ok(await api.admin.get(f"{path}/custody"))
    assert [c["kind"] for c in custody] == ["evidence_added", "evidence_downloaded", "evidence_handed_over"]
    assert (
        custody[2]["data"]["to"] == api.emails["responder"]
        and custody[2]["data"]["note"] == "to the forensics lab"
    )
    assert all(len(c["hash"]) == 64 for c in custody) and custody == sorted(custody, key=lambda c: c["seq"])


async def test_who_may_read_the_list_and_who_may_have_the_file(api: Api) -> None:
    ref = await declare(api, "outage")
    item = await ok(await upload(api, ref, b"log lines"), 201)
    download = f"/api/v1/incidents/{ref}/evidence/{item['id']}/download"
    assert len(await ok(await api.viewer.get(f"/api/v1/incidents/{ref}/evidence"))) == 1
    assert (await api.viewer.get(download)).status_code == 403
    assert (await api.stakeholder.get(download)).status_code == 403
    assert (await api.stakeholder.get(f"/api/v1/incidents/{ref}/evidence")).status_code == 403
    assert (await api.responder.get(download)).content == b"log lines"
    secret = await declare(api, "security")
    hidden = await ok(await upload(api, secret, b"secret"), 201)
    for who in ("responder", "viewer"):
        for path in (
            f"/api/v1/incidents/{secret}/evidence",
            f"/api/v1/incidents/{secret}/evidence/{hidden['id']}/download",
        ):
            answer = await api.clients[who].get(path)
            assert answer.status_code in (403, 404) and "secret" not in answer.text
    sneaky = await api.responder.post(f"/api/v1/incidents/{secret}/evidence", files={"file": ("x", b"x")})
    assert sneaky.status_code == 404


async def test_the_size_limit_and_bad_times_change_nothing(api: Api, data_dir: Path) -> None:
    ref = await declare(api)
    api.context.settings.evidence_max_mb = 1
    big = await upload(api, ref, b"\0" * (1_048_576 + 1))
    assert big.status_code == 413 and "1 MiB" in big.text
    future = await upload(api, ref, b"x", collected_at="2999-01-01T00:00:00Z")
    assert future.status_code == 422
    naive = await upload(api, ref, b"x", collected_at="2026-03-02T09:40:00")
    assert naive.status_code == 422
    assert await ok(await api.admin.get(f"/api/v1/incidents/{ref}/evidence")) == []
    assert [p for p in (data_dir / "evidence").rglob("*") if p.is_file()] == []


async def test_audit_verify_checks_every_evidence_file(api: Api, db_url: str, data_dir: Path) -> None:
    ref = await declare(api)
    item = await ok(await upload(api, ref, MEMORY), 201)
    env = {"WARROOM_DATABASE_URL": db_url, "WARROOM_DATA_DIR": str(data_dir)}
    done = cli.run_main(["audit", "verify"], env)
    assert done.returncode == 0 and plain(done.stdout).endswith("1 evidence files match their sha256"), done
    stored = data_dir / "evidence" / item["sha256"][:2] / item["sha256"][2:4] / item["sha256"]
    stored.write_bytes(MEMORY[:-1] + b"!")
    said = plain(fails_with_one_line(["audit", "verify"], db_url, data_dir))
    assert f"evidence: {ref} evidence {item['id']} (fs-01.mem): its file no longer matches" in said
    assert said.endswith("1 of 1 evidence files missing or changed")
    refused = await api.admin.get(f"/api/v1/incidents/{ref}/evidence/{item['id']}/download")
    assert refused.status_code == 409 and "no longer matches" in refused.text
    stored.unlink()
    assert "its file is missing" in plain(fails_with_one_line(["audit", "verify"], db_url, data_dir))
