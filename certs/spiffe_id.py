"""SPIFFE IDs: strict parsing, the mesh's workload and operator ID shapes, and the
identity-derived DNS name that lets a client pin its server's identity."""

from __future__ import annotations

import functools

import hashlib
import re
from dataclasses import dataclass


SCHEME_PREFIX = "spiffe://"
MAX_ID_BYTES = 2048
# Suffix of the DNS SAN derived from an identity (see dns_name_for).
DNS_SUFFIX = "id.tsunagi.mesh"

_TRUST_DOMAIN = re.compile(r"[a-z0-9._-]+")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


class InvalidSpiffeId(ValueError):
    """A string is not a SPIFFE ID the mesh accepts; the message says which rule it broke."""


@dataclass(frozen=True, slots=True)
class SpiffeId:
    """A parsed SPIFFE ID. `path` is empty or starts with "/"; both parts are canonical."""

    trust_domain: str
    path: str

    def __str__(self) -> str:
        return f"{SCHEME_PREFIX}{self.trust_domain}{self.path}"

    @property
    def org(self) -> str | None:
        """The org-id of a workload or operator ID; None for any other shape."""
        shape = self._shape()
        return shape[0] if shape else None

    @property
    def system(self) -> str | None:
        """The system-id of a workload ID (`/org/<org>/sys/<system>`), else None."""
        shape = self._shape()
        return shape[2] if shape and shape[1] == "sys" else None

    @property
    def operator(self) -> str | None:
        """The operator name of an operator ID (`/org/<org>/operator/<name>`), else None."""
        shape = self._shape()
        return shape[2] if shape and shape[1] == "operator" else None

    def _shape(self) -> tuple[str, str, str] | None:
        segments = self.path.split("/")[1:]
        if len(segments) == 4 and segments[0] == "org" and segments[2] in ("sys", "operator"):
            return segments[1], segments[2], segments[3]
        return None


def parse_trust_domain(value: str) -> str:
    """Validate a bare trust domain name (lower case [a-z0-9._-]) and return it."""
    if not isinstance(value, str) or not value:
        raise InvalidSpiffeId("trust domain is missing")
    _check_trust_domain(value)
    return value


@functools.lru_cache(maxsize=65536)  # pure; config compiles parse the same IDs again and again
def parse_spiffe_id(value: str) -> SpiffeId:
    """Parse `value` per the SPIFFE ID spec, stricter where the spec allows leniency.

    Refused: a scheme other than lower-case `spiffe`, a missing or upper-case trust domain,
    userinfo, port, query, fragment, percent-encoding, whitespace or control characters,
    empty/"."/".." segments, a trailing slash, and more than 2048 bytes.
    """
    if not isinstance(value, str):
        raise InvalidSpiffeId("SPIFFE ID must be a string")
    if not value:
        raise InvalidSpiffeId("SPIFFE ID is empty")
    if len(value.encode("utf-8")) > MAX_ID_BYTES:
        raise InvalidSpiffeId(f"SPIFFE ID is longer than {MAX_ID_BYTES} bytes")
    # Characters that are never legal anywhere in an ID get a precise message first.
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidSpiffeId("SPIFFE ID contains whitespace or control characters")
    if not value.isascii():
        raise InvalidSpiffeId("SPIFFE ID contains non-ASCII characters")
    if not value.startswith(SCHEME_PREFIX):
        if value[: len(SCHEME_PREFIX)].lower() == SCHEME_PREFIX:
            raise InvalidSpiffeId("scheme must be lower-case 'spiffe'")
        raise InvalidSpiffeId("SPIFFE ID must start with 'spiffe://'")
    if "%" in value:
        raise InvalidSpiffeId("SPIFFE ID contains percent-encoding")
    if "?" in value:
        raise InvalidSpiffeId("SPIFFE ID has a query")
    if "#" in value:
        raise InvalidSpiffeId("SPIFFE ID has a fragment")

    rest = value[len(SCHEME_PREFIX) :]
    trust_domain, slash, tail = rest.partition("/")
    path = slash + tail
    if not trust_domain:
        raise InvalidSpiffeId("trust domain is missing")
    _check_trust_domain(trust_domain)
    _check_path(path)

    # Cross-check with py-spiffe; it must agree and must not have rewritten anything
    # (it lowercases trust domains, which our own check above already refused).
    # Imported here: the `spiffe` package loads its whole Workload API client (~0.3 s) on
    # import, which every meshctl invocation would otherwise pay.
    from spiffe import SpiffeId as _PySpiffeId
    from spiffe.errors import PySpiffeError

    try:
        reference = _PySpiffeId(value)
    except PySpiffeError as err:
        raise InvalidSpiffeId(f"rejected by SPIFFE parser: {err}") from None
    if str(reference) != value:
        raise InvalidSpiffeId("SPIFFE ID is not in canonical form")
    return SpiffeId(trust_domain=trust_domain, path=path)


def workload_id(trust_domain: str, org: str, system: str) -> str:
    """The workload ID `spiffe://<td>/org/<org>/sys/<system>`; each part is one segment."""
    _check_parts(trust_domain, org, system)
    return str(parse_spiffe_id(f"{SCHEME_PREFIX}{trust_domain}/org/{org}/sys/{system}"))


def operator_id(trust_domain: str, org: str, name: str) -> str:
    """The operator ID `spiffe://<td>/org/<org>/operator/<name>`; each part is one segment."""
    _check_parts(trust_domain, org, name)
    return str(parse_spiffe_id(f"{SCHEME_PREFIX}{trust_domain}/org/{org}/operator/{name}"))


def dns_name_for(spiffe_id: str) -> str:
    """The DNS name a workload certificate carries besides its SPIFFE ID.

    gRPC clients expose no peer identity after the handshake, so the consumer pins the
    server by setting `grpc.ssl_target_name_override` to this name: the handshake then
    fails against any other identity. A hash keeps it a valid hostname label (41 chars)
    whatever the ID looks like, and 160 bits make collisions a non-issue.
    """
    canonical = str(parse_spiffe_id(spiffe_id))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]
    return f"s{digest}.{DNS_SUFFIX}"


def _check_parts(trust_domain: str, *segments: str) -> None:
    parse_trust_domain(trust_domain)
    for segment in segments:
        if not segment:
            raise InvalidSpiffeId("an ID part is empty")
        if "/" in segment:
            raise InvalidSpiffeId("an ID part must be a single path segment")
        _check_path(f"/{segment}")


def _check_trust_domain(trust_domain: str) -> None:
    if "@" in trust_domain:
        raise InvalidSpiffeId("SPIFFE ID must not carry userinfo")
    if ":" in trust_domain:
        raise InvalidSpiffeId("SPIFFE ID must not carry a port")
    if _TRUST_DOMAIN.fullmatch(trust_domain) is None:
        if _TRUST_DOMAIN.fullmatch(trust_domain.lower()) is not None:
            raise InvalidSpiffeId("trust domain must be lower case")
        raise InvalidSpiffeId("trust domain may contain only [a-z0-9.-_]")


def _check_path(path: str) -> None:
    if not path:
        return
    if path.endswith("/"):
        raise InvalidSpiffeId("path must not end with '/'")
    for segment in path.split("/")[1:]:
        if not segment:
            raise InvalidSpiffeId("path has an empty segment")
        if segment in (".", ".."):
            raise InvalidSpiffeId("path has a '.' or '..' segment")
        if _SEGMENT.fullmatch(segment) is None:
            raise InvalidSpiffeId("path segments may contain only [a-zA-Z0-9.-_]")
