"""Observables' normal forms, refanging, type guessing and extraction from alert payloads (pure)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warroom.observables.domain import TYPES, NotAnObservable, guess, normalise, parse_line, refang
from warroom.observables.extract import MAX_FOUND, extract


@pytest.mark.parametrize(
    ("kind", "written", "normal"),
    [
        ("ip", "203.0.113.7", "203.0.113.7"),
        ("ip", "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("ip", "203[.]0[.]113[.]7", "203.0.113.7"),
        ("cidr", "198.51.100.7/24", "198.51.100.0/24"),
        ("domain", "Evil.Example.COM.", "evil.example.com"),
        ("domain", "evil[.]example(.)com", "evil.example.com"),
        ("domain", "bücher.example", "xn--bcher-kva.example"),
        ("url", "hxxps://Evil.Example[.]com:8443/a?b=1", "https://evil.example.com:8443/a?b=1"),
        ("url", "http://[2001:db8::1]/x", "http://[2001:db8::1]/x"),
        ("email", "Ann.Lee@Example.COM", "Ann.Lee@example.com"),
        ("email", "ann[@]example[.]org", "ann@example.org"),
        ("md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
        ("sha256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("hostname", "FS-01", "fs-01"),
        ("registry_key", r"hklm\Software\Run", r"HKEY_LOCAL_MACHINE\Software\Run"),
        ("cve", "cve-2024-3094", "CVE-2024-3094"),
        ("user", "  CORP\\jdoe ", "CORP\\jdoe"),
    ],
)  # fmt: skip
def test_each_type_has_one_normal_form(kind: str, written: str, normal: str) -> None:
    assert normalise(kind, written) == normal


@pytest.mark.parametrize(
    ("kind", "value", "said"),
    [
        ("ip", "999.1.1.1", "not an IPv4 or IPv6 address"),
        ("domain", "localhost", "not a domain"),
        ("domain", "-bad-.example", "not a valid host name"),
        ("url", "javascript:alert(1)", "not a URL"),
        ("email", "no-at-sign", "not an e-mail address"),
        ("sha1", "abc", "40 hexadecimal digits"),
        ("cve", "CVE-24-1", "not a CVE id"),
        ("registry_key", r"Software\Run", "registry hive"),
        ("user", "a\x00b", "control characters"),
        ("user", "   ", "is empty"),
        ("colour", "red", "unknown type"),
    ],
)
def test_what_is_not_an_observable_is_refused_with_the_reason(kind: str, value: str, said: str) -> None:
    with pytest.raises(NotAnObservable, match=said):
        normalise(kind, value)


def test_a_pasted_line_is_typed_or_its_type_guessed() -> None:
    assert parse_line("  # a comment") is None and parse_line("") is None
    assert parse_line("hostname: FS-01") == ("hostname", "FS-01")
    assert parse_line("https://evil.example/x") == ("url", "https://evil.example/x")
    assert [guess(v) for v in ("203.0.113.7", "10.0.0.0/8", "a@b.example", "evil.example", "CVE-2021-44228",
                               "d41d8cd98f00b204e9800998ecf8427e", r"HKCU\Run", "hxxp://x[.]example")] == [
        "ip", "cidr", "email", "domain", "cve", "md5", "registry_key", "url"]  # fmt: skip
    with pytest.raises(NotAnObservable, match="write it as `type: value`"):
        parse_line("mimikatz.exe --dump")
    assert refang("hxxps[://]evil[.]example") == "https://evil.example"


def test_extraction_is_type_aware_then_pattern_based() -> None:
    payload = {
        "labels": {"alertname": "Beacon", "instance": "10.1.2.3:9100", "src_ip": "198.51.100.9",
                   "user": "jdoe", "hostname": "FS-01"},
        "details": {"file_hash": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                    "note": "callback to hxxps://c2.evil[.]example/beacon from ann@corp.example, "
                            "see CVE-2024-3094",
                    "nested": {"deeper": {"dst_ip": "203.0.113.50"}}},
        "title": "Beacon from FS-01",
    }  # fmt: skip
    found = {(f.type, f.value): f.where for f in extract(payload)}
    assert found[("ip", "10.1.2.3")] == "labels.instance"
    assert found[("ip", "198.51.100.9")] == "labels.src_ip"
    assert found[("user", "jdoe")] == "labels.user"
    assert found[("hostname", "fs-01")] == "labels.hostname"
    assert ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") in found
    assert found[("url", "https://c2.evil.example/beacon")] == "details.note"
    assert ("email", "ann@corp.example") in found and ("cve", "CVE-2024-3094") in found
    assert found[("ip", "203.0.113.50")] == "details.nested.deeper.dst_ip"
    assert ("user", "Beacon") not in found  # alertname is no observable


def test_extraction_is_bounded() -> None:
    many = {"details": {f"k{i}": f"10.0.{i // 250}.{i % 250}" for i in range(1_000)}}
    assert len(extract(many)) == MAX_FOUND
    deep: dict[str, object] = {"ip": "203.0.113.1"}
    for _ in range(10):
        deep = {"inner": deep}
    assert extract(deep) == []


@given(st.sampled_from(TYPES), st.text(max_size=300))
def test_normalise_never_fails_otherwise(kind: str, value: str) -> None:
    with contextlib.suppress(NotAnObservable):
        assert isinstance(normalise(kind, value), str)


PAYLOADS = st.recursive(
    st.text(max_size=50) | st.integers() | st.none(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


@given(PAYLOADS)
def test_extract_never_fails_on_any_payload(payload: object) -> None:
    found = extract({"details": payload})
    assert all(f.type in TYPES for f in found)


def test_evidence_file_names_are_made_harmless() -> None:
    from warroom.evidence.service import clean_filename

    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\Users\\x\\dump\u202egpj.exe") == "dumpgpj.exe"
    assert clean_filename("a\x00b\x1fc.txt") == "abc.txt"
    assert clean_filename("\ud800") == "evidence" and clean_filename(None) == "evidence"
    assert clean_filename(" .. ") == "evidence" and len(clean_filename("x" * 999)) == 200
