"""The sidecar's own certificate: join with a one-time token, renew at half-life, rotate live.

Rotation never drops a call: the inbound listener's credentials are dynamic (new handshakes
get the new certificate, open connections keep theirs until their maximum age), and outbound
channels are replaced for new calls while the old ones drain.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Awaitable, Callable

import grpc
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from grpc import aio

from certs.bundle import write_identity
from certs.ca import Issued
from certs.spiffe_id import dns_name_for
from mesh.v1 import control_plane_pb2 as api
from mesh.v1 import control_plane_pb2_grpc as api_grpc
from sidecar.channels import TlsMaterial

log = structlog.get_logger("sidecar.certificates")
RETRY_MIN_S, RETRY_MAX_S = 0.5, 30.0
CALL_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Identity:
    """Where the identity lives and who vouches for whom."""

    spiffe_id: str
    cert_file: Path
    key_file: Path
    bundle_file: Path
    control_plane: str | None  # HOST:PORT of the API, for renewal
    control_plane_id: str
    join_address: str | None
    join_token_file: Path | None


def not_after(chain_pem: bytes) -> datetime:
    return x509.load_pem_x509_certificates(chain_pem)[0].not_valid_after_utc


def not_before(chain_pem: bytes) -> datetime:
    return x509.load_pem_x509_certificates(chain_pem)[0].not_valid_before_utc


def _new_key_and_csr(spiffe_id: str) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([]))
           .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(spiffe_id)]), critical=True)
           .sign(key, hashes.SHA256()))
    return key, csr.public_bytes(serialization.Encoding.PEM)


class Certificates:
    """Holds the current TLS material and keeps it fresh."""

    def __init__(self, identity: Identity, on_rotate: Callable[[TlsMaterial], Awaitable[None]] | None = None) -> None:
        self._id = identity
        self.on_rotate = on_rotate
        self.tls: TlsMaterial | None = None
        self.last_error = ""

    def load(self) -> TlsMaterial | None:
        """The material on disk, or None when there is no certificate yet."""
        if not self._id.cert_file.exists():
            return None
        self.tls = TlsMaterial(self._id.cert_file.read_bytes(), self._id.key_file.read_bytes(),
                               self._id.bundle_file.read_bytes())
        return self.tls

    async def join(self) -> TlsMaterial:
        """First certificate with the one-time token; the token is useless afterwards."""
        if self._id.join_address is None or self._id.join_token_file is None:
            raise RuntimeError("no certificate and no join configuration")
        token = self._id.join_token_file.read_text(encoding="utf-8").strip()
        bundle = self._id.bundle_file.read_bytes()
        key, csr = await asyncio.to_thread(_new_key_and_csr, self._id.spiffe_id)
        credentials = grpc.ssl_channel_credentials(root_certificates=bundle)
        async with aio.secure_channel(self._id.join_address, credentials, options=self._pin()) as channel:
            reply = await api_grpc.CertificateAuthorityStub(channel).Join(
                api.JoinRequest(token=token, csr_pem=csr), timeout=CALL_TIMEOUT_S)
        return await self._store(key, reply)

    async def renew(self) -> TlsMaterial:
        """A fresh certificate for the same identity, authenticated by the current one."""
        assert self.tls is not None and self._id.control_plane is not None
        key, csr = await asyncio.to_thread(_new_key_and_csr, self._id.spiffe_id)
        credentials = grpc.ssl_channel_credentials(self.tls.bundle_pem, self.tls.key_pem, self.tls.chain_pem)
        async with aio.secure_channel(self._id.control_plane, credentials, options=self._pin()) as channel:
            reply = await api_grpc.CertificateAuthorityStub(channel).Renew(
                api.RenewRequest(csr_pem=csr), timeout=CALL_TIMEOUT_S)
        return await self._store(key, reply)

    def _pin(self) -> list[tuple[str, str]]:
        return [("grpc.ssl_target_name_override", dns_name_for(self._id.control_plane_id))]

    async def _store(self, key: ec.EllipticCurvePrivateKey, reply: api.CertificateResponse) -> TlsMaterial:
        chain = x509.load_pem_x509_certificates(reply.certificate_chain_pem)
        if reply.spiffe_id != self._id.spiffe_id:
            raise RuntimeError(f"CA issued {reply.spiffe_id}, expected {self._id.spiffe_id}")
        directory = self._id.cert_file.parent
        issued = Issued(cert=chain[0], key=key, chain=tuple(chain[1:]))
        cert_path, key_path = await asyncio.to_thread(write_identity, directory, self._id.cert_file.stem, issued)
        assert cert_path == self._id.cert_file and key_path == self._id.key_file
        self.tls = TlsMaterial(issued.chain_pem(), issued.key_pem(), self._id.bundle_file.read_bytes())
        log.info("certificate_installed", identity=self._id.spiffe_id,
                 not_after=chain[0].not_valid_after_utc.isoformat())
        return self.tls

    def renew_at(self) -> datetime:
        """Half-life of the current certificate, counted from when it was issued.

        notBefore is backdated for clock skew, so it understates the issue time; the
        certificate file's modification time (written when it arrived) is the better start.
        """
        assert self.tls is not None
        start, end = not_before(self.tls.chain_pem), not_after(self.tls.chain_pem)
        try:
            written = datetime.fromtimestamp(self._id.cert_file.stat().st_mtime, timezone.utc)
        except OSError:
            written = start
        start = min(max(start, written), end)
        return start + (end - start) / 2

    async def run(self) -> None:
        """Renew at half-life forever; on failure retry with jittered backoff, well before expiry."""
        if self._id.control_plane is None:
            return
        delay = RETRY_MIN_S
        while True:
            wait = (self.renew_at() - datetime.now(timezone.utc)).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                tls = await self.renew()
            except (grpc.RpcError, OSError, ValueError, RuntimeError) as exc:
                self.last_error = f"certificate renewal failed: {exc}"
                log.warning("certificate_renewal_failed", reason=str(exc), retry_s=round(delay, 2))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            delay = RETRY_MIN_S
            self.last_error = ""
            if self.on_rotate is not None:
                await self.on_rotate(tls)


class DynamicServerCredentials:
    """Inbound TLS whose certificate can change: grpc asks before each new handshake."""

    def __init__(self, tls: TlsMaterial) -> None:
        self._pending: TlsMaterial | None = None
        self.credentials = grpc.dynamic_ssl_server_credentials(
            self._config(tls), self._fetch, require_client_authentication=True)

    @staticmethod
    def _config(tls: TlsMaterial) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration([(tls.key_pem, tls.chain_pem)],
                                                         root_certificates=tls.bundle_pem)

    def update(self, tls: TlsMaterial) -> None:
        self._pending = tls

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        pending, self._pending = self._pending, None
        return None if pending is None else self._config(pending)
