"""Reading a feed's content into indicators: STIX 2.1 bundles (the `stix2` parser, which checks patterns
with `stix2-patterns`), MISP feeds (manifest.json and one JSON file per event), CSV and plain-text lists. A
bad item is counted as rejected; content that cannot be read at all raises FeedUnreadable, and nothing of
that poll is kept."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any

from warroom.intel.domain import pattern_terms
from warroom.intel.vulnerability import VulnIn, stix_vulnerabilities
from warroom.observables.domain import NotAnObservable, guess, normalise

MISP_TYPES = {
    "ip-src": "ip",
    "ip-dst": "ip",
    "domain": "domain",
    "hostname": "domain",
    "url": "url",
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha512": "sha512",
    "email-src": "email",
    "email-dst": "email",
    "email": "email",
    "filename": "filename",
    "regkey": "registry_key",
    "vulnerability": "cve",
}
MISP_TLP = {
    "tlp:white": "clear",
    "tlp:clear": "clear",
    "tlp:green": "green",
    "tlp:amber": "amber",
    "tlp:amber+strict": "amber+strict",
    "tlp:red": "red",
}
MAX_ITEMS = 2_000_000


class FeedUnreadable(ValueError):
    """The content is not what the feed's kind says (not JSON, not a bundle, no manifest...)."""


@dataclass(frozen=True)
class IndicatorIn:
    source_ref: str
    type: str | None
    value: str | None
    pattern: str | None
    name: str
    tlp: str
    confidence: int
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked: bool = False
    kill_chain_phases: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


@dataclass
class Parsed:
    indicators: list[IndicatorIn] = field(default_factory=list)
    rejected: int = 0
    problems: list[str] = field(default_factory=list)  # the first few, for the feed's page
    vulnerabilities: list[VulnIn] = field(default_factory=list)  # STIX vulnerability objects

    def reject(self, why: str) -> None:
        self.rejected += 1
        if len(self.problems) < 5:
            self.problems.append(why[:300])


@dataclass(frozen=True)
class Defaults:
    tlp: str
    confidence: int
    type: str | None = None  # csv and text: the type of every value, else guessed per value


# stix2 is imported in the functions that parse STIX, not at the top: it cost 0.4 s of every server's and
# worker's start. The poll job awaits warroom.lazy_import's `imported("stix2")` first, off the event loop.
@cache
def _tlp_markings() -> dict[str, str]:
    import stix2

    return {
        stix2.TLP_WHITE.id: "clear",
        stix2.TLP_GREEN.id: "green",
        stix2.TLP_AMBER.id: "amber",
        stix2.TLP_RED.id: "red",
    }


def _stix_tlp(obj: Any, default: str) -> str:
    markings = _tlp_markings()
    return next((markings[m] for m in obj.get("object_marking_refs", []) if m in markings), default)


def stix_indicators(objects: Iterable[Any], defaults: Defaults, parsed: Parsed) -> None:
    """STIX indicator objects as indicators: one per exact term of a simple pattern, else the pattern."""
    for obj in objects:
        if obj.get("type") != "indicator":
            continue
        pattern = str(obj.get("pattern", ""))
        # stix2's parser already checked the pattern (with stix2-patterns); other pattern languages
        # (Sigma, YARA, Snort) are not ours to match.
        if obj.get("pattern_type", "stix") != "stix":
            parsed.reject(f"{obj.get('id')}: a {obj.get('pattern_type')} pattern, not STIX")
            continue
        base = IndicatorIn(
            source_ref=str(obj["id"]),
            type=None,
            value=None,
            pattern=pattern,
            name=str(obj.get("name") or pattern)[:300],
            tlp=_stix_tlp(obj, defaults.tlp),
            confidence=int(obj.get("confidence", defaults.confidence)),
            valid_from=obj.get("valid_from"),
            valid_until=obj.get("valid_until"),
            revoked=bool(obj.get("revoked", False)),
            kill_chain_phases=[p["phase_name"] for p in obj.get("kill_chain_phases", [])],
            labels=[str(label) for label in obj.get("labels", [])],
        )
        terms = pattern_terms(pattern)
        if not terms:
            parsed.indicators.append(base)  # only STIX matching can decide this one
            continue
        for index, term in enumerate(terms):
            ref = base.source_ref if len(terms) == 1 else f"{base.source_ref}#{index}"
            parsed.indicators.append(replace(base, source_ref=ref, type=term.type, value=term.value))


def stix_objects(raw: Iterable[Any], parsed: Parsed) -> list[Any]:
    """Each indicator through the `stix2` parser on its own: a bad one is rejected, not the whole feed."""
    import stix2
    from stix2.exceptions import STIXError

    objects = []
    for item in raw:
        if not isinstance(item, dict) or item.get("type") != "indicator":
            continue  # relationships, malware, identities ...: not matched, so not worth building
        try:
            objects.append(stix2.parse(item, allow_custom=True))
        except (STIXError, ValueError, TypeError) as error:
            parsed.reject(f"{item.get('id')}: {' '.join(str(error).split())[:200]}")
    return objects


def read_stix(content: bytes, defaults: Defaults) -> Parsed:
    document = json_of(content, "the bundle")
    if not isinstance(document, dict) or document.get("type") != "bundle":
        raise FeedUnreadable('not a STIX 2.1 bundle (no "type": "bundle")')
    raw = document.get("objects", [])
    if not isinstance(raw, list):
        raise FeedUnreadable("the bundle's objects are not a list")
    return read_stix_objects(raw[:MAX_ITEMS], defaults)


def read_stix_objects(raw: list[Any], defaults: Defaults) -> Parsed:
    """A bundle's (or a TAXII collection's) indicators, and its vulnerabilities with what they affect."""
    parsed = Parsed()
    stix_indicators(stix_objects(raw, parsed), defaults, parsed)
    parsed.vulnerabilities, problems = stix_vulnerabilities(raw)
    for problem in problems:
        parsed.reject(problem)
    return parsed


def _typed(value: str, kind: str | None) -> tuple[str, str] | None:
    chosen = kind or guess(value)
    if chosen is None:
        return None
    try:
        return chosen, normalise(chosen, value)
    except NotAnObservable:
        return None


def _value_rows(rows: Iterable[tuple[str, str | None]], defaults: Defaults, source: str) -> Parsed:
    parsed = Parsed()
    for number, (raw, kind) in enumerate(rows, start=1):
        typed = _typed(raw, kind or defaults.type)
        if typed is None:
            parsed.reject(f"line {number}: {raw[:100]!r} is not an indicator")
            continue
        parsed.indicators.append(
            IndicatorIn(
                source_ref=f"{typed[0]}:{typed[1]}"[:300],
                type=typed[0],
                value=typed[1],
                pattern=None,
                name=f"{typed[1]} ({source})"[:300],
                tlp=defaults.tlp,
                confidence=defaults.confidence,
            )
        )
    return parsed


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedUnreadable("not UTF-8 text") from None


def read_text(content: bytes, defaults: Defaults) -> Parsed:
    """One value per line; `#` starts a comment."""
    lines = (line.split("#", 1)[0].strip() for line in _text(content).splitlines())
    return _value_rows(((line, None) for line in lines if line), defaults, "list")


def read_csv(content: bytes, defaults: Defaults, options: dict[str, Any]) -> Parsed:
    """Columns by position or header name: `value` (required), `type` (optional); `#` lines are comments."""
    lines = [
        line for line in _text(content).splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    reader = csv.reader(
        io.StringIO("\n".join(lines)), delimiter=str(options.get("delimiter", ","))[:1] or ","
    )
    rows = list(reader)
    header = [h.strip().lower() for h in rows[0]] if rows and options.get("header", True) else []
    body = rows[1:] if header else rows

    def column(name: str, fallback: int | None) -> int | None:
        chosen = options.get(f"{name}_column", name if name in header else fallback)
        if isinstance(chosen, str):
            return header.index(chosen.lower()) if chosen.lower() in header else None
        return chosen if isinstance(chosen, int) else None

    at, kind_at = column("value", 0), column("type", None)
    if at is None:
        raise FeedUnreadable("no value column (set value_column)")
    pairs = (
        (
            row[at].strip(),
            row[kind_at].strip().lower() if kind_at is not None and kind_at < len(row) else None,
        )
        for row in body
        if at < len(row)
    )
    return _value_rows(pairs, defaults, "csv")


def misp_event_indicators(event: dict[str, Any], defaults: Defaults, parsed: Parsed) -> None:
    """A MISP event's attributes flagged for detection (`to_ids`), in its objects too."""
    tags = {str(t.get("name", "")).lower() for t in event.get("Tag", []) if isinstance(t, dict)}
    tlp = next((MISP_TLP[t] for t in tags if t in MISP_TLP), defaults.tlp)
    attributes = list(event.get("Attribute", []))
    for obj in event.get("Object", []):
        attributes += obj.get("Attribute", []) if isinstance(obj, dict) else []
    for attribute in attributes:
        if not isinstance(attribute, dict) or not attribute.get("to_ids", False):
            continue
        kind = MISP_TYPES.get(str(attribute.get("type", "")))
        typed = _typed(str(attribute.get("value", "")), kind) if kind else None
        if typed is None:
            parsed.reject(f"MISP attribute {attribute.get('uuid')}: {attribute.get('type')} not usable")
            continue
        parsed.indicators.append(
            IndicatorIn(
                source_ref=str(attribute.get("uuid") or f"{typed[0]}:{typed[1]}")[:300],
                type=typed[0],
                value=typed[1],
                pattern=None,
                name=str(event.get("info", "MISP event"))[:300],
                tlp=tlp,
                confidence=defaults.confidence,
                labels=sorted(tags - set(MISP_TLP))[:20],
            )
        )


def json_of(content: bytes, what: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        raise FeedUnreadable(f"{what} is not JSON") from None


def misp_event_ids(manifest: Any) -> Iterator[str]:
    if not isinstance(manifest, dict):
        raise FeedUnreadable("manifest.json is not an object of events")
    yield from (str(uuid) for uuid in list(manifest)[:MAX_ITEMS])
