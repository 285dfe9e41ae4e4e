"""Observables in an alert's payload (labels, annotations, custom details). Pure.

Type-aware first: a key says what its value is (`src_ip`, `hostname`, `user`, `sha256`, `file_path` ...),
and the value is normalised as that type. Then careful patterns over the remaining string values find what
a sender put in free text: IP addresses, URLs, e-mail addresses, CVE ids and hashes. A value that fails its
type is skipped, never guessed at; the walk is bounded in depth and count, whatever the payload holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from warroom.observables.domain import HASH_LENGTHS, NotAnObservable, normalise

MAX_DEPTH = 4
MAX_FOUND = 200
MAX_TEXT = 10_000  # a longer string value is not scanned

# Key names (lower case, "-" and "." read as "_") that say what their value is.
_KEYS: dict[str, str] = {
    **dict.fromkeys(
        (
            "ip",
            "src_ip",
            "dst_ip",
            "source_ip",
            "destination_ip",
            "client_ip",
            "remote_ip",
            "remote_addr",
            "ip_address",
            "ipaddress",
            "host_ip",
            "peer_ip",
        ),
        "ip",
    ),
    **dict.fromkeys(
        (
            "host",
            "hostname",
            "host_name",
            "instance",
            "node",
            "computer",
            "computer_name",
            "device",
            "server",
        ),
        "hostname",
    ),
    **dict.fromkeys(("user", "username", "user_name", "account", "src_user", "target_user", "login"), "user"),
    **dict.fromkeys(("url", "uri", "request_url", "link"), "url"),
    **dict.fromkeys(("domain", "fqdn", "query", "dns_query", "qname"), "domain"),
    **dict.fromkeys(("email", "sender", "recipient", "from_address", "mail_from"), "email"),
    **dict.fromkeys(("file", "filename", "file_name", "file_path", "path"), "filename"),
    **dict.fromkeys(("process", "process_name", "image", "parent_image"), "process"),
    **dict.fromkeys(("registry", "registry_key", "reg_key"), "registry_key"),
    **dict.fromkeys(("cve", "cve_id", "vulnerability"), "cve"),
    **dict.fromkeys(("hash", "file_hash", "md5", "sha1", "sha256", "sha512"), "hash"),
}
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("url", re.compile(r"\b(?:https?|hxxps?)\[?://\]?[^\s<>\"']{3,}", re.IGNORECASE)),
    ("email", re.compile(r"\b[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+\b")),
    ("ip", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")),
    ("cve", re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.IGNORECASE)),
    ("hash", re.compile(r"\b(?:[0-9a-fA-F]{128}|[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})\b")),
)


@dataclass(frozen=True)
class Found:
    type: str
    value: str
    where: str  # the path in the payload it came from, e.g. labels.src_ip


def _key(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _typed(kind: str, value: str) -> tuple[str, str] | None:
    if kind == "hash":
        kind = HASH_LENGTHS.get(len(value.strip()), "")
        if not kind:
            return None
    if kind == "hostname":
        if value.count(":") == 1:
            value = value.split(":", 1)[0]  # Prometheus' instance label is host:port
        kinds: tuple[str, ...] = ("ip", "hostname")  # a host label often holds an address
    else:
        kinds = (kind,)
    for candidate in kinds:
        try:
            return candidate, normalise(candidate, value)
        except NotAnObservable:
            continue
    return None


def _walk(value: Any, path: str, depth: int) -> Iterator[tuple[str, str]]:
    """(path, string) for every string under `value`, bounded by MAX_DEPTH."""
    if isinstance(value, str):
        yield path, value
    elif depth < MAX_DEPTH and isinstance(value, Mapping):
        for key, inner in list(value.items())[:500]:
            yield from _walk(inner, f"{path}.{key}" if path else str(key), depth + 1)
    elif depth < MAX_DEPTH and isinstance(value, list):
        for index, inner in enumerate(value[:500]):
            yield from _walk(inner, f"{path}[{index}]", depth + 1)


def _scan(path: str, text: str) -> Iterator[Found]:
    if len(text) > MAX_TEXT:
        return
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            typed = _typed(kind, match.group(0).rstrip(".,;)"))
            if typed:
                yield Found(typed[0], typed[1], path)


def extract(payload: Mapping[str, Any]) -> list[Found]:
    """Every distinct (type, value) in `payload` (e.g. {"labels": ..., "details": ...}), first place first."""
    found: dict[tuple[str, str], Found] = {}
    for path, text in _walk(payload, "", 0):
        leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
        kind = _KEYS.get(_key(leaf))
        typed = _typed(kind, text) if kind else None
        candidates = [Found(typed[0], typed[1], path)] if typed else list(_scan(path, text))
        for item in candidates:
            found.setdefault((item.type, item.value), item)
            if len(found) >= MAX_FOUND:
                return list(found.values())
    return list(found.values())
