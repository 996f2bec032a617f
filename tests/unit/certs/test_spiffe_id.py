"""SPIFFE ID parsing, the mesh ID shapes and the identity-derived DNS name."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certs.spiffe_id import (
    InvalidSpiffeId,
    SpiffeId,
    dns_name_for,
    operator_id,
    parse_spiffe_id,
    parse_trust_domain,
    workload_id,
)

PREFIX = "spiffe://td/"
ID_2048 = PREFIX + "a" * (2048 - len(PREFIX))
ID_2049 = PREFIX + "a" * (2049 - len(PREFIX))

VALID = [
    "spiffe://tsunagi.test/org/131008/sys/kaigo",
    "spiffe://tsunagi.test/org/131008/operator/yamada",
    "spiffe://example.org",
    "spiffe://a-b_c.d0/x",
    "spiffe://td/Mixed.Case-Path_0/9",
    "spiffe://td/...",
    "spiffe://td/.hidden",
    ID_2048,
]

INVALID = [
    ("", "empty"),
    ("http://td/x", "must start with 'spiffe://'"),
    ("SPIFFE://td/x", "lower-case 'spiffe'"),
    ("Spiffe://td/x", "lower-case 'spiffe'"),
    ("spiffe:/td/x", "must start with 'spiffe://'"),
    ("spiffe:td/x", "must start with 'spiffe://'"),
    ("td/x", "must start with 'spiffe://'"),
    ("spiffe://", "trust domain is missing"),
    ("spiffe:///x", "trust domain is missing"),
    ("spiffe://TSUNAGI.TEST/x", "trust domain must be lower case"),
    ("spiffe://Tsunagi.test/x", "trust domain must be lower case"),
    ("spiffe://td!/x", "trust domain may contain only"),
    ("spiffe://tsu\u00fcnagi/x", "non-ASCII"),
    ("spiffe://user@td/x", "userinfo"),
    ("spiffe://user:pw@td/x", "userinfo"),
    ("spiffe://td:8443/x", "port"),
    ("spiffe://td:/x", "port"),
    ("spiffe://td/x?y=1", "query"),
    ("spiffe://td/x?", "query"),
    ("spiffe://td/x#frag", "fragment"),
    ("spiffe://td/x/", "must not end with '/'"),
    ("spiffe://td/", "must not end with '/'"),
    ("spiffe://td//x", "empty segment"),
    ("spiffe://td/x//y", "empty segment"),
    ("spiffe://td/x/./y", "'.' or '..'"),
    ("spiffe://td/x/../y", "'.' or '..'"),
    ("spiffe://td/..", "'.' or '..'"),
    ("spiffe://td/.", "'.' or '..'"),
    ("spiffe://td/x%2Fy", "percent"),
    ("spiffe://td/%2e%2e", "percent"),
    ("spiffe://td/x y", "whitespace"),
    ("spiffe://td/x\n", "whitespace"),  # py-spiffe alone accepts this one
    ("spiffe://td/x\t", "whitespace"),
    (" spiffe://td/x", "whitespace"),
    ("spiffe://td/x\x00", "control"),
    ("spiffe://td/x\x7f", "control"),
    ("spiffe://td/x$y", "may contain only"),
    ("spiffe://td/x:y", "may contain only"),
    ("spiffe://td/x\\y", "may contain only"),
    ("spiffe://td/\uff58", "non-ASCII"),
    (ID_2049, "longer than 2048 bytes"),
]


@pytest.mark.parametrize("value", VALID)
def test_valid_id_parses_and_round_trips(value: str) -> None:
    """A valid ID parses, and its string form is exactly the input."""
    assert str(parse_spiffe_id(value)) == value


def test_parse_splits_trust_domain_and_path() -> None:
    """The trust domain and the path (with its leading slash) are kept apart."""
    sid = parse_spiffe_id("spiffe://tsunagi.test/org/131008/sys/kaigo")
    assert sid == SpiffeId(trust_domain="tsunagi.test", path="/org/131008/sys/kaigo")


def test_trust_domain_only_id_has_empty_path() -> None:
    """`spiffe://td` is a valid ID (it names the trust domain) with an empty path."""
    assert parse_spiffe_id("spiffe://td").path == ""


@pytest.mark.parametrize(("value", "reason"), INVALID, ids=[repr(v)[:40] for v, _ in INVALID])
def test_invalid_id_is_refused_with_reason(value: str, reason: str) -> None:
    """Every invalid shape raises InvalidSpiffeId whose message names the broken rule."""
    with pytest.raises(InvalidSpiffeId, match=re.escape(reason)):
        parse_spiffe_id(value)


def test_length_limit_counts_utf8_bytes_of_exactly_2048() -> None:
    """2048 bytes is the largest accepted ID; one more byte is refused."""
    assert len(ID_2048.encode()) == 2048
    assert parse_spiffe_id(ID_2048)
    with pytest.raises(InvalidSpiffeId):
        parse_spiffe_id(ID_2049)


@pytest.mark.parametrize("value", [None, b"spiffe://td/x", 42])
def test_non_string_is_refused(value: object) -> None:
    """Only str is parsed; bytes and other types are refused, not coerced."""
    with pytest.raises(InvalidSpiffeId):
        parse_spiffe_id(value)  # type: ignore[arg-type]


def test_invalid_spiffe_id_is_a_value_error() -> None:
    """Callers that catch ValueError also catch InvalidSpiffeId."""
    assert issubclass(InvalidSpiffeId, ValueError)


@given(st.text(max_size=80))
def test_parser_accepts_only_canonical_ids_and_raises_nothing_else(value: str) -> None:
    """For any text the parser either returns an ID that prints as the input or raises
    InvalidSpiffeId; no other exception escapes."""
    try:
        sid = parse_spiffe_id(value)
    except InvalidSpiffeId:
        return
    assert str(sid) == value


_SEGMENT = st.text(alphabet="abcXYZ019.-_", min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))


@given(st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True), st.lists(_SEGMENT, min_size=1, max_size=6))
def test_generated_valid_ids_parse(trust_domain: str, segments: list[str]) -> None:
    """Any ID built from legal characters and segments parses and round-trips."""
    value = f"spiffe://{trust_domain}/" + "/".join(segments)
    assert str(parse_spiffe_id(value)) == value


def test_workload_shape_gives_org_and_system() -> None:
    """`/org/<org>/sys/<system>` yields org and system, and no operator."""
    sid = parse_spiffe_id("spiffe://td/org/131008/sys/kaigo")
    assert (sid.org, sid.system, sid.operator) == ("131008", "kaigo", None)


def test_operator_shape_gives_org_and_operator() -> None:
    """`/org/<org>/operator/<name>` yields org and operator, and no system."""
    sid = parse_spiffe_id("spiffe://td/org/131008/operator/yamada")
    assert (sid.org, sid.system, sid.operator) == ("131008", None, "yamada")


@pytest.mark.parametrize(
    "value",
    [
        "spiffe://td",
        "spiffe://td/org/131008",
        "spiffe://td/org/131008/sys",
        "spiffe://td/org/131008/sys/kaigo/extra",
        "spiffe://td/team/131008/sys/kaigo",
        "spiffe://td/org/131008/service/kaigo",
    ],
)
def test_other_shapes_have_no_org_system_or_operator(value: str) -> None:
    """Paths that are not exactly a mesh shape expose no org, system or operator."""
    sid = parse_spiffe_id(value)
    assert (sid.org, sid.system, sid.operator) == (None, None, None)


def test_workload_id_builds_the_mesh_shape() -> None:
    """workload_id returns `spiffe://<td>/org/<org>/sys/<system>`."""
    assert workload_id("tsunagi.test", "131008", "kaigo") == "spiffe://tsunagi.test/org/131008/sys/kaigo"


def test_operator_id_builds_the_mesh_shape() -> None:
    """operator_id returns `spiffe://<td>/org/<org>/operator/<name>`."""
    assert operator_id("td", "131008", "yamada") == "spiffe://td/org/131008/operator/yamada"


@pytest.mark.parametrize(
    ("trust_domain", "org", "system"),
    [("TD", "131008", "kaigo"), ("td", "a/b", "kaigo"), ("td", "131008", ".."), ("td", "", "x"), ("td:1", "o", "s")],
)
def test_workload_id_refuses_bad_parts(trust_domain: str, org: str, system: str) -> None:
    """A part that would smuggle a separator, a dot segment or upper case is refused."""
    with pytest.raises(InvalidSpiffeId):
        workload_id(trust_domain, org, system)


@pytest.mark.parametrize("value", ["", "TD", "td/x", "td:80", "u@td", "td\n"])
def test_parse_trust_domain_refuses_non_domains(value: str) -> None:
    """A bare trust domain must be non-empty lower-case [a-z0-9.-_] only."""
    with pytest.raises(InvalidSpiffeId):
        parse_trust_domain(value)


_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def _is_hostname(name: str) -> bool:
    return len(name) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in name.split("."))


@pytest.mark.parametrize("value", VALID)
def test_dns_name_is_a_valid_lower_case_hostname(value: str) -> None:
    """dns_name_for gives an RFC 1123 hostname in lower case whatever the ID's length."""
    name = dns_name_for(value)
    assert _is_hostname(name)
    assert name == name.lower()
    assert name.endswith(".id.tsunagi.mesh")


def test_dns_name_differs_across_ids() -> None:
    """IDs that differ only in case, order or trust domain get different names."""
    ids = [
        "spiffe://td/org/1/sys/a",
        "spiffe://td/org/1/sys/A",
        "spiffe://td/org/1/sys/b",
        "spiffe://td/org/2/sys/a",
        "spiffe://td2/org/1/sys/a",
        "spiffe://td/org/1/operator/a",
        "spiffe://td/org/1/sys/a/b",
    ]
    assert len({dns_name_for(i) for i in ids}) == len(ids)


def test_dns_name_is_deterministic() -> None:
    """The same ID always yields the same name (both sides compute it independently)."""
    assert dns_name_for("spiffe://td/org/1/sys/a") == dns_name_for("spiffe://td/org/1/sys/a")


def test_dns_name_refuses_invalid_id() -> None:
    """No name is derived for an invalid ID, so a malformed ID cannot be pinned."""
    with pytest.raises(InvalidSpiffeId):
        dns_name_for("spiffe://TD/org/1/sys/a")
