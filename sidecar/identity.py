"""Peer identity on the inbound listener: the SPIFFE ID of the verified client certificate.

TLS has already checked the chain to the mesh trust bundle; this adds the mesh's own rules
(exactly one URI SAN, a valid SPIFFE ID in our trust domain, not a CA). The verdict for a
certificate is cached, keyed by its PEM, so the call path pays a dict lookup; the cached
expiry is still checked on every call because a connection can outlive its certificate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from cryptography import x509

from certs.verify import PeerRejected, identity_from_certificate
from sidecar.errors import PeerUnauthenticated

_CACHE_LIMIT = 4096
log = structlog.get_logger("sidecar.identity")


@dataclass(frozen=True, slots=True)
class _Verdict:
    identity: str | None
    reason: str
    not_before: float
    not_after: float


class PeerIdentities:
    """Turns a call's auth context into the caller's SPIFFE ID, or refuses it."""

    def __init__(self, trust_domain: str) -> None:
        self._trust_domain = trust_domain
        self._verdicts: dict[bytes, _Verdict] = {}
        self.denied: frozenset[str] = frozenset()

    def identify(self, auth_context: dict[str, list[bytes]]) -> str:
        """The caller's SPIFFE ID; PeerUnauthenticated with the reason otherwise."""
        pems = auth_context.get("x509_pem_cert")
        if not pems:
            raise PeerUnauthenticated("no verified client certificate")
        verdict = self._verdicts.get(pems[0])
        if verdict is None:
            verdict = self._judge(pems[0])
        now = time.time()
        if verdict.identity is None:
            raise PeerUnauthenticated(verdict.reason)
        if not verdict.not_before <= now < verdict.not_after:
            raise PeerUnauthenticated("client certificate is outside its validity period")
        if verdict.identity in self.denied:
            raise PeerUnauthenticated(f"identity {verdict.identity} is on the deny-list")
        return verdict.identity

    def _judge(self, pem: bytes) -> _Verdict:
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            verdict = _Verdict(None, "client certificate cannot be parsed", 0.0, 0.0)
        else:
            nb = cert.not_valid_before_utc.timestamp()
            na = cert.not_valid_after_utc.timestamp()
            try:
                # Judge everything but time once (at notBefore); time is checked per call.
                at = cert.not_valid_before_utc
                identity = str(identity_from_certificate(cert, self._trust_domain, now=at))
                verdict = _Verdict(identity, "", nb, na)
            except PeerRejected as exc:
                verdict = _Verdict(None, exc.reason, nb, na)
        if len(self._verdicts) >= _CACHE_LIMIT:
            self._verdicts.clear()
        self._verdicts[pem] = verdict
        if verdict.identity is None:
            log.warning("peer_rejected", reason=verdict.reason)
        return verdict
