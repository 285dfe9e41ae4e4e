"""Sharing an incident's indicators: a STIX 2.1 bundle (an identity for this warroom, an indicator per
IOC, a sighting of each, relationships to the incident's report) or a MISP event. TLP decides what may
leave: AMBER+STRICT and RED only with an explicit override."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from warroom.incidents.models import Incident
from warroom.intel.domain import TYPE_TO_STIX
from warroom.observables.models import Observable

NEEDS_OVERRIDE = frozenset({"amber+strict", "red"})
MISP_TYPE = {
    "ip": "ip-dst",
    "domain": "domain",
    "hostname": "hostname",
    "url": "url",
    "email": "email-src",
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha512": "sha512",
    "filename": "filename",
    "registry_key": "regkey",
    "cve": "vulnerability",
    "cidr": "ip-dst",
}
_PATH = {
    "ip": "ipv4-addr:value",
    "cidr": "ipv4-addr:value",
    "domain": "domain-name:value",
    "hostname": "domain-name:value",
    "url": "url:value",
    "email": "email-addr:value",
    "md5": "file:hashes.MD5",
    "sha1": "file:hashes.'SHA-1'",
    "sha256": "file:hashes.'SHA-256'",
    "sha512": "file:hashes.'SHA-512'",
    "filename": "file:name",
    "user": "user-account:user_id",
    "process": "process:name",
    "registry_key": "windows-registry-key:key",
}


def shareable(observables: list[Observable], override: bool) -> tuple[list[Observable], int]:
    """The IOCs that may leave, and how many were held back by their TLP."""
    iocs = [o for o in observables if o.ioc and o.type in TYPE_TO_STIX]
    kept = [o for o in iocs if override or o.tlp not in NEEDS_OVERRIDE]
    return kept, len(iocs) - len(kept)


def _pattern(observable: Observable) -> str:
    value = observable.value.replace("\\", "\\\\").replace("'", "\\'")
    path = _PATH[observable.type]
    if observable.type == "ip" and ":" in observable.value:
        path = "ipv6-addr:value"
    return f"[{path} = '{value}']"


def stix_bundle(incident: Incident, observables: list[Observable], base_url: str, now: datetime) -> str:
    """The bundle. stix2 is imported here, not at the top: 0.4 s of every process's start for a rare export
    (the API awaits warroom.lazy_import's `imported("stix2")` first, so the loop never runs the import)."""
    import stix2

    markings = {
        "clear": stix2.TLP_WHITE,
        "green": stix2.TLP_GREEN,
        "amber": stix2.TLP_AMBER,
        "red": stix2.TLP_RED,
    }
    us = stix2.Identity(
        name=f"warroom at {base_url}", identity_class="organization", created=now, modified=now
    )
    report_objects: list[Any] = [us]
    for observable in observables:
        marking = markings.get(observable.tlp.replace("+strict", ""), stix2.TLP_AMBER)
        indicator = stix2.Indicator(
            name=f"{observable.type} {observable.value}",
            pattern=_pattern(observable),
            pattern_type="stix",
            valid_from=observable.first_seen,
            created_by_ref=us.id,
            object_marking_refs=[marking],
            labels=list(observable.tags or []),
            created=now,
            modified=now,
        )
        sighting = stix2.Sighting(
            sighting_of_ref=indicator.id,
            first_seen=observable.first_seen,
            last_seen=observable.last_seen,
            created_by_ref=us.id,
            where_sighted_refs=[us.id],
            object_marking_refs=[marking],
            created=now,
            modified=now,
        )
        report_objects += [indicator, sighting]
    report = stix2.Report(
        # Not the title: it may name an indicator whose TLP kept it out of the bundle.
        name=f"warroom incident INC-{incident.id}",
        published=now,
        report_types=["incident"],
        object_refs=[o.id for o in report_objects],
        created_by_ref=us.id,
        created=now,
        modified=now,
    )
    relationships = [
        stix2.Relationship(
            source_ref=o.id, relationship_type="related-to", target_ref=us.id, created=now, modified=now
        )
        for o in report_objects
        if o.type == "indicator"
    ]
    return str(
        stix2.Bundle(objects=[*report_objects, *relationships, report], allow_custom=False).serialize(
            pretty=True
        )
    )


def misp_event(incident: Incident, observables: list[Observable], now: datetime) -> str:
    attributes = [
        {
            "type": MISP_TYPE.get(o.type, "text"),
            "category": "Network activity",
            "value": o.value,
            "to_ids": True,
            "Tag": [{"name": f"tlp:{o.tlp}"}],
            "first_seen": o.first_seen.isoformat(),
            "last_seen": o.last_seen.isoformat(),
        }
        for o in observables
    ]
    event = {
        "Event": {
            "info": f"warroom incident INC-{incident.id}",
            "date": now.date().isoformat(),
            "threat_level_id": "2",
            "analysis": "1",
            "distribution": "0",
            "Attribute": attributes,
        }
    }
    return json.dumps(event, indent=2)
