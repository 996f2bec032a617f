"""Peer verification: the X509-SVID identity check run on every inbound connection, and
chain verification against a trust bundle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TypeVar

from cryptography import x509
from cryptography.x509 import verification

from certs.spiffe_id import InvalidSpiffeId, SpiffeId, parse_spiffe_id

_Ext = TypeVar("_Ext", bound=x509.ExtensionType)


class PeerRejected(Exception):
    """A peer certificate is not acceptable. `reason` is short, human and safe to log or
    return to the peer: it never holds key material."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def identity_from_certificate(
    cert: x509.Certificate, trust_domain: str, now: datetime | None = None
) -> SpiffeId:
    """The SPIFFE ID a verified peer certificate proves, or PeerRejected.

    Runs after TLS has verified the chain and checks what TLS does not (X509-SVID 5.2):
    the certificate is inside its validity window, is not a CA and cannot sign
    certificates, carries exactly one URI SAN, and that SAN is a valid SPIFFE ID with a
    path in our trust domain (exact, case-sensitive).
    """
    now = _utc(now)
    if now < cert.not_valid_before_utc:
        raise PeerRejected("certificate is not yet valid")
    if now > cert.not_valid_after_utc:
        raise PeerRejected("certificate has expired")

    try:
        extensions = cert.extensions
    except ValueError:  # duplicate or malformed extensions
        raise PeerRejected("certificate extensions could not be parsed") from None
    constraints = _extension(extensions, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise PeerRejected("certificate is a CA certificate")
    usage = _extension(extensions, x509.KeyUsage)
    if usage is None:
        raise PeerRejected("certificate has no key usage")
    if usage.key_cert_sign or usage.crl_sign:
        raise PeerRejected("certificate may sign certificates or CRLs")
    if not usage.digital_signature:
        raise PeerRejected("certificate key may not sign")

    san = _extension(extensions, x509.SubjectAlternativeName)
    uris = san.get_values_for_type(x509.UniformResourceIdentifier) if san is not None else []
    if not uris:
        raise PeerRejected("certificate has no URI SAN")
    if len(uris) > 1:
        raise PeerRejected("certificate has more than one URI SAN")
    try:
        sid = parse_spiffe_id(uris[0])
    except InvalidSpiffeId as err:
        raise PeerRejected(f"invalid SPIFFE ID: {err}") from None
    if not sid.path:
        raise PeerRejected("SPIFFE ID has no path")
    if sid.trust_domain != trust_domain:
        raise PeerRejected(f"SPIFFE ID is in trust domain '{sid.trust_domain}', not '{trust_domain}'")
    return sid


def identity_from_pem(pem: bytes | str, trust_domain: str) -> SpiffeId:
    """identity_from_certificate for the first certificate in a PEM blob (as found in
    gRPC's auth context under `x509_pem_cert`)."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise PeerRejected("peer certificate could not be parsed") from None
    return identity_from_certificate(certs[0], trust_domain)


def verify_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    now: datetime | None = None,
) -> None:
    """Verify `leaf` as a TLS client certificate chaining to one of `roots` through
    `intermediates` (RFC 5280 path validation: signatures, validity, CA constraints,
    clientAuth). Raises PeerRejected; returns None when the chain holds."""
    if not roots:
        raise PeerRejected("no trust roots to verify against")
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(list(roots)))
        .time(_utc(now))
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, list(intermediates))
    except verification.VerificationError as err:
        raise PeerRejected(f"certificate chain rejected: {_short(err)}") from None


def _short(err: verification.VerificationError) -> str:
    """cryptography's message minus its prefix and the certificate repr it appends."""
    text = str(err).removeprefix("validation failed: ")
    return text.split(" (encountered processing", 1)[0]


def _extension(extensions: x509.Extensions, kind: type[_Ext]) -> _Ext | None:
    try:
        return extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    return now.astimezone(timezone.utc)
