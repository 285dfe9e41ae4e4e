"""Vulnerabilities: CVE lists from feeds (a `cve` feed: CSV with CISA's known-exploited columns, or
generic ones) against the software each service declares. A match is a finding for the service's team,
due by the feed's own deadline, else by how bad it is (known exploitation first), and the team is told."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.catalog.models import Service
from warroom.comms.reminders import tell
from warroom.intel.feeds import FeedUnreadable, Parsed
from warroom.intel.members import team_members
from warroom.intel.models import Feed, Finding, Software, Vulnerability
from warroom.intel.vulnerability import SEVERITIES, NotACpe, Product, VulnIn, due_on, parse_cpe

COLUMNS = {  # our name: the headers it may go by (CISA KEV's first)
    "cve": ("cveid", "cve"),
    "vendor": ("vendorproject", "vendor"),
    "product": ("product",),
    "versions": ("versions", "version"),
    "severity": ("severity",),
    "exploited": ("exploited", "known_exploited"),
    "ransomware": ("knownransomwarecampaignuse", "ransomware"),
    "due": ("duedate", "due"),
    "description": ("shortdescription", "vulnerabilityname", "description"),
    "cpe": ("cpe", "cpe23uri", "cpe_name"),
}


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "known", "y")


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()[:10]) if value.strip() else None
    except ValueError:
        return None


def _product(vendor: str, name: str, cpe: str) -> Product | None:
    """The product a row names: its product column, else its CPE name."""
    if name:
        return Product(vendor[:200], name.lower()[:200], None)
    try:
        return parse_cpe(cpe) if cpe else None
    except NotACpe:
        return None


def _row(row: dict[str, Any], where: dict[str, str | None], known_exploited: bool) -> VulnIn | None:
    def cell(name: str) -> str:
        column = where[name]
        return str(row.get(column) or "").strip() if column else ""

    cve = cell("cve").upper()
    product = _product(cell("vendor"), cell("product"), cell("cpe"))
    if not cve.startswith("CVE-") or product is None:
        return None
    severity = cell("severity").lower()
    listed = [v.strip() for v in cell("versions").replace(",", ";").split(";") if v.strip()]
    return VulnIn(
        cve=cve[:40],
        vendor=product.vendor,
        product=product.name,
        versions=(listed or ([product.version] if product.version else []))[:100],
        severity=severity if severity in SEVERITIES else "unknown",
        exploited=known_exploited or _truthy(cell("exploited")),
        ransomware=_truthy(cell("ransomware")),
        due_on=_date(cell("due")),
        description=cell("description")[:2000],
    )


def read_cve_csv(content: bytes, options: dict[str, Any]) -> tuple[list[VulnIn], Parsed]:
    """Rows with a CVE and a product; `options.known_exploited` says every row is exploited (CISA KEV)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedUnreadable("not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = {h.strip().lower(): h for h in reader.fieldnames or []}
    where = {ours: next((header[h] for h in names if h in header), None) for ours, names in COLUMNS.items()}
    if where["cve"] is None or (where["product"] is None and where["cpe"] is None):
        raise FeedUnreadable("a CVE list needs cve (or cveID) and product (or cpe) columns")
    parsed, found = Parsed(), []
    for number, row in enumerate(reader, start=2):
        item = _row(row, where, bool(options.get("known_exploited")))
        if item is None:
            parsed.reject(f"line {number}: no CVE id, or no product or CPE")
        else:
            found.append(item)
    return found, parsed


async def apply_vulns(
    session: AsyncSession, feed: Feed, rows: list[VulnIn], now: datetime
) -> tuple[int, int, list[int]]:
    """Insert or update in place; returns (added, updated, the ids of both)."""
    stored = {
        (v.cve, v.product): v
        for v in await session.scalars(select(Vulnerability).where(Vulnerability.feed_id == feed.id))
    }
    added = updated = 0
    changed: list[Vulnerability] = []
    for item in {(r.cve, r.product): r for r in rows}.values():
        fields = {
            name: getattr(item, name)
            for name in ("vendor", "versions", "severity", "exploited", "ransomware", "due_on", "description")
        }
        row = stored.get((item.cve, item.product))
        if row is None:
            row = Vulnerability(feed_id=feed.id, cve=item.cve, product=item.product, updated_at=now, **fields)
            session.add(row)
            added += 1
        elif any(getattr(row, k) != v for k, v in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = now
            updated += 1
        else:
            continue
        changed.append(row)
    await session.flush()
    return added, updated, [row.id for row in changed]


def affects(vulnerability: Vulnerability, version: str | None) -> bool:
    """No versions listed: every version; else the declared version must be one of them (or unknown)."""
    return not vulnerability.versions or version is None or version in vulnerability.versions


async def find_affected(
    session: AsyncSession,
    now: datetime,
    *,
    vulnerability_ids: list[int] | None = None,
    service_id: int | None = None,
) -> list[Finding]:
    """Open findings for what the vulnerabilities name and the services run; returns the new ones."""
    query = (
        select(Vulnerability, Software, Service)
        .join(Software, Software.name == Vulnerability.product)
        .join(Service, Service.id == Software.service_id)
    )
    if vulnerability_ids is not None:
        query = query.where(Vulnerability.id.in_(vulnerability_ids))
    if service_id is not None:
        query = query.where(Service.id == service_id)
    made: list[Finding] = []
    for vulnerability, software, service in await session.execute(query):
        if not affects(vulnerability, software.version):
            continue
        exists = await session.scalar(
            select(Finding.id).where(
                Finding.service_id == service.id, Finding.vulnerability_id == vulnerability.id
            )
        )
        if exists is not None:
            continue
        finding = Finding(
            service_id=service.id, vulnerability_id=vulnerability.id, team_id=service.team_id,
            software=f"{software.name} {software.version or ''}".strip()[:300], status="open", created_at=now,
            updated_at=now,
            due_on=due_on(vulnerability.severity, vulnerability.exploited, vulnerability.due_on, now.date()),
        )  # fmt: skip
        session.add(finding)
        made.append(finding)
    await session.flush()
    return made


async def tell_owners(session: AsyncSession, findings: list[Finding], now: datetime) -> None:
    """Each new finding to its team's members, through their contact methods (once per finding)."""
    for finding in findings:
        if finding.team_id is None:
            continue
        vulnerability = await session.get(Vulnerability, finding.vulnerability_id)
        service = await session.get(Service, finding.service_id)
        if vulnerability is None or service is None:
            continue
        known = " It is known to be exploited." if vulnerability.exploited else ""
        subject = f"{vulnerability.cve} in {service.name} ({finding.software}): patch by {finding.due_on}"
        body = f"{vulnerability.description or vulnerability.cve}.{known} Due {finding.due_on}."
        for member in await team_members(session, finding.team_id):
            await tell(session, member, key=f"intel:vuln:{finding.id}", subject=subject, body=body, now=now)


async def apply_and_find(
    session: AsyncSession, feed: Feed, rows: list[VulnIn], now: datetime
) -> dict[str, int]:
    """Vulnerabilities a feed lists, applied; what they now affect opened as findings and told."""
    added, updated, changed = await apply_vulns(session, feed, rows, now)
    findings = await find_affected(session, now, vulnerability_ids=changed) if changed else []
    await tell_owners(session, findings, now)
    return {"vulnerabilities": added + updated, "findings": len(findings)}


async def poll_cves(session: AsyncSession, feed: Feed, content: bytes, now: datetime) -> dict[str, int]:
    """A `cve` feed's poll: the list applied, what it now affects opened as findings and told."""
    rows, parsed = read_cve_csv(content, feed.options or {})
    added, updated, changed = await apply_vulns(session, feed, rows, now)
    findings = await find_affected(session, now, vulnerability_ids=changed) if changed else []
    await tell_owners(session, findings, now)
    return {"added": added, "updated": updated, "rejected": parsed.rejected, "findings": len(findings)}
