"""Pure threat-intel logic: a STIX pattern as the exact (type, value) terms an index can answer, the keys
an observable is looked up by (a domain's parents, an address inside a range), and whether an indicator is
in force."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from warroom.observables.domain import NotAnObservable, normalise

# STIX cyber-observable paths -> warroom observable types (the ones an equality pattern names).
STIX_PATHS = {
    "ipv4-addr:value": "ip",
    "ipv6-addr:value": "ip",
    "domain-name:value": "domain",
    "url:value": "url",
    "email-addr:value": "email",
    "file:name": "filename",
    "file:hashes.md5": "md5",
    "file:hashes.'md5'": "md5",
    "file:hashes.'sha-1'": "sha1",
    "file:hashes.sha1": "sha1",
    "file:hashes.'sha-256'": "sha256",
    "file:hashes.sha256": "sha256",
    "file:hashes.'sha-512'": "sha512",
    "file:hashes.sha512": "sha512",
    "windows-registry-key:key": "registry_key",
    "user-account:user_id": "user",
    "process:name": "process",
}
TYPE_TO_STIX = {
    "ip": "ipv4-addr",
    "cidr": "ipv4-addr",
    "domain": "domain-name",
    "url": "url",
    "email": "email-addr",
    "hostname": "domain-name",
    "md5": "file",
    "sha1": "file",
    "sha256": "file",
    "sha512": "file",
    "filename": "file",
    "user": "user-account",
    "process": "process",
    "registry_key": "windows-registry-key",
}
_COMPARISON = re.compile(r"\[\s*([a-z0-9-]+:[a-z0-9_.'-]+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]", re.IGNORECASE)
_SIMPLE = re.compile(r"^\s*\[[^\[\]]+\]\s*(?:OR\s*\[[^\[\]]+\]\s*)*$", re.IGNORECASE)


@dataclass(frozen=True)
class Term:
    type: str
    value: str


def _term(path: str, raw: str) -> Term | None:
    kind = STIX_PATHS.get(path.lower())
    if kind is None:
        return None
    value = raw.replace("\\'", "'").replace("\\\\", "\\")
    if kind == "ip" and "/" in value:
        kind = "cidr"
    try:
        return Term(kind, normalise(kind, value))
    except NotAnObservable:
        return None


def pattern_terms(pattern: str) -> list[Term] | None:
    """The exact terms a pattern is the OR of (`[ipv4-addr:value = '1.2.3.4'] OR [domain-name:value =
    'x.com']`), or None when it says more (AND, other operators, qualifiers): then STIX matching decides."""
    if not _SIMPLE.match(pattern):
        return None
    comparisons = _COMPARISON.findall(pattern)
    if len(comparisons) != pattern.count("["):
        return None
    terms = [_term(path, raw) for path, raw in comparisons]
    return None if any(t is None for t in terms) else [t for t in terms if t is not None]


def lookup_keys(kind: str, value: str) -> list[Term]:
    """What an observable is looked up by: itself, a domain's (or URL host's) parent domains."""
    keys = [Term(kind, value)]
    host = value if kind in ("domain", "hostname") else _url_host(value) if kind == "url" else None
    if host:
        labels = host.split(".")
        keys += [Term("domain", ".".join(labels[i:])) for i in range(len(labels) - 1)]
    return list(dict.fromkeys(keys))


def _url_host(url: str) -> str | None:
    found = re.match(r"^[a-z][a-z0-9+.-]*://([^/:?#]+)", url)
    return found.group(1).lower() if found else None


def in_ranges(address: str, ranges: Iterable[tuple[int, str]]) -> list[int]:
    """The ids of the ranges (id, CIDR) that hold `address`."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return []
    found = []
    for indicator_id, cidr in ranges:
        network = ipaddress.ip_network(cidr, strict=False)
        if ip.version == network.version and ip in network:
            found.append(indicator_id)
    return found


def in_force(valid_from: datetime | None, valid_until: datetime | None, revoked: bool, now: datetime) -> bool:
    """An indicator matches from its valid_from until its valid_until, unless revoked."""
    if revoked:
        return False
    return (valid_from is None or valid_from <= now) and (valid_until is None or now < valid_until)
