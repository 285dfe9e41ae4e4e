"""Observables: what each type accepts, its one normal form, refanging, guessing a type, and TLP. Pure.

Normal forms make the same indicator one row however it was written: lower-case domains, hashes and e-mail
domains; IP addresses in their compressed form; IDN domains in their ASCII (punycode) form; CVE ids upper
case. Indicators pasted from reports are often "defanged" so nobody clicks them (`hxxp://evil[.]com`): they
are refanged first. The standard library is enough for each check (`ipaddress`, `urllib.parse`, the idna
codec), so no parser is written here beyond a few patterns.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

TYPES = (
    "ip", "cidr", "domain", "url", "email", "md5", "sha1", "sha256", "sha512",
    "filename", "hostname", "user", "process", "registry_key", "cve",
)  # fmt: skip
TLPS = ("clear", "green", "amber", "amber+strict", "red")  # TLP 2.0
PAPS = ("clear", "green", "amber", "red")
# What may leave the response team (stakeholder updates, the status page, shared chat): TLP 2.0's CLEAR is
# public and GREEN is for the community; AMBER and above stay with those who need to know.
SHAREABLE = frozenset({"clear", "green"})
MAX_VALUE = 2_000
HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}

_DEFANGS = (
    (re.compile(r"^hxxp", re.IGNORECASE), "http"),
    (re.compile(r"^fxp", re.IGNORECASE), "ftp"),
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)", re.IGNORECASE), "."),
    (re.compile(r"\[@\]|\(@\)|\[at\]|\(at\)", re.IGNORECASE), "@"),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\[://\]"), "://"),
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_CVE = re.compile(r"^CVE-\d{4}-\d{4,7}$", re.IGNORECASE)
_HIVES = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKCR": "HKEY_CLASSES_ROOT",
          "HKU": "HKEY_USERS", "HKCC": "HKEY_CURRENT_CONFIG"}  # fmt: skip


class NotAnObservable(ValueError):
    """The value is not a valid observable of the type; the message says why, for a 422."""


def refang(text: str) -> str:
    """`hxxps://evil[.]example` -> `https://evil.example`: undo the usual defanging of shared indicators."""
    for pattern, plain in _DEFANGS:
        text = pattern.sub(plain, text)
    return text


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise NotAnObservable("is empty")
    if len(value) > MAX_VALUE:
        raise NotAnObservable(f"is longer than {MAX_VALUE:,} characters")
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise NotAnObservable("contains control characters")
    return value


def _host(value: str, *, dotted: bool) -> str:
    name = value.rstrip(".").lower()
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise NotAnObservable(f"{value!r} is not a valid host name") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise NotAnObservable(f"{value!r} is not a valid host name")
    if dotted and (len(labels) < 2 or labels[-1].isdigit()):
        raise NotAnObservable(f"{value!r} is not a domain (a name like example.com)")
    return ascii_name


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        raise NotAnObservable(f"{value!r} is not an IPv4 or IPv6 address") from None


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise NotAnObservable(f"{value!r} is not a network like 203.0.113.0/24") from None


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https", "ftp", "ftps", "ws", "wss") or not parts.hostname:
        raise NotAnObservable(f"{value!r} is not a URL with a scheme and a host")
    try:
        host = _ip(parts.hostname) if ":" in parts.hostname else _host(parts.hostname, dotted=False)
    except NotAnObservable:
        host = _ip(parts.hostname)
    netloc = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        raise NotAnObservable(f"{value!r} has an invalid port") from None
    netloc += f":{port}" if port else ""
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or len(local) > 64 or any(c in local for c in ' <>()[],;:"'):
        raise NotAnObservable(f"{value!r} is not an e-mail address")
    return f"{local}@{_host(domain, dotted=True)}"


def _hash(kind: str, value: str) -> str:
    size = {v: k for k, v in HASH_LENGTHS.items()}[kind]
    if len(value) != size or not _HEX.match(value):
        raise NotAnObservable(f"{value!r} is not a {kind} ({size} hexadecimal digits)")
    return value.lower()


def _registry(value: str) -> str:
    hive, _, rest = value.replace("/", "\\").partition("\\")
    full = _HIVES.get(hive.upper(), hive.upper())
    if full not in _HIVES.values():
        raise NotAnObservable(f"{value!r} does not start with a registry hive (HKLM, HKCU, HKEY_USERS ...)")
    return f"{full}\\{rest}" if rest else full


def _cve(value: str) -> str:
    if not _CVE.match(value):
        raise NotAnObservable(f"{value!r} is not a CVE id like CVE-2024-3094")
    return value.upper()


def normalise(kind: str, value: str) -> str:
    """The one normal form of `value` as an observable of type `kind`; NotAnObservable says why not."""
    if kind not in TYPES:
        raise NotAnObservable(f"unknown type {kind!r}; types: {', '.join(TYPES)}")
    value = _text(value)
    if kind in ("ip", "cidr", "domain", "url", "email", "hostname"):
        value = refang(value)
    if kind in ("md5", "sha1", "sha256", "sha512"):
        return _hash(kind, value)
    if kind in ("domain", "hostname"):
        return _host(value, dotted=kind == "domain")
    checks: dict[str, Callable[[str], str]] = {
        "ip": _ip, "cidr": _cidr, "url": _url, "email": _email, "registry_key": _registry, "cve": _cve,
    }  # fmt: skip
    check = checks.get(kind)
    return check(value) if check else value  # filename, user, process: free text, kept as written


def guess(value: str) -> str | None:
    """The type a bare pasted value most likely is, or None when it could be several (say `type: value`)."""
    value = refang(value.strip())
    if _CVE.match(value):
        return "cve"
    if _HEX.match(value) and len(value) in HASH_LENGTHS:
        return HASH_LENGTHS[len(value)]
    if value.upper().startswith(("HKLM", "HKCU", "HKCR", "HKU\\", "HKCC", "HKEY_")):
        return "registry_key"
    if "://" in value:
        return "url"
    for kind in ("ip", "cidr", "email", "domain"):
        try:
            normalise(kind, value)
        except NotAnObservable:
            continue
        return kind
    return None


def parse_line(line: str) -> tuple[str, str] | None:
    """One line of a pasted list: `type: value`, or a bare value whose type is guessed; None for a blank or
    `#` comment line. NotAnObservable when the type cannot be told."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    head, sep, rest = line.partition(":")
    if sep and head.strip().lower() in TYPES and not rest.startswith("//"):
        return head.strip().lower(), rest.strip()
    kind = guess(line)
    if kind is None:
        raise NotAnObservable(f"cannot tell the type of {line[:80]!r}; write it as `type: value`")
    return kind, line


def may_leave(tlp: str) -> bool:
    """Whether an observable of this TLP may be shown outside the response team."""
    return tlp in SHAREABLE
