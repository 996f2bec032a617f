"""Checkpoints: signing a commitment to a log's head, verifying one, and the sink that takes
them out of the sidecar (to the control plane, which keeps them as the witness)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from certs.ca import Issued
from certs.verify import PeerRejected, verify_chain
from mesh.audit.encoding import checkpoint_signing_input
from mesh.audit.errors import CheckpointRejected
from mesh.v1 import audit_pb2


class CheckpointSink(Protocol):
    """Where checkpoints leave the sidecar. `submit` raises on failure; the log then retries
    with the newest checkpoint (each one covers everything before it)."""

    async def submit(self, checkpoint: audit_pb2.AuditCheckpoint) -> None: ...


class MemoryCheckpointSink:
    """A CheckpointSink that keeps every checkpoint in memory, for tests and tools."""

    def __init__(self) -> None:
        self.checkpoints: list[audit_pb2.AuditCheckpoint] = []

    async def submit(self, checkpoint: audit_pb2.AuditCheckpoint) -> None:
        copy = audit_pb2.AuditCheckpoint()
        copy.CopyFrom(checkpoint)
        self.checkpoints.append(copy)

    def latest(self, log_id: str) -> audit_pb2.AuditCheckpoint | None:
        """The checkpoint with the highest seq for `log_id`, if any."""
        mine = [c for c in self.checkpoints if c.log_id == log_id]
        return max(mine, key=lambda c: c.seq) if mine else None


def spiffe_id_of(cert: x509.Certificate) -> str:
    """The certificate's one URI SAN; ValueError when it has none or several."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise ValueError("certificate has no subject alternative name") from None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    if len(uris) != 1:
        raise ValueError(f"certificate has {len(uris)} URI SANs, not one")
    return str(uris[0])


def sign_checkpoint(
    identity: Issued, log_id: str, seq: int, head_hash: str, now: datetime | None = None
) -> audit_pb2.AuditCheckpoint:
    """A checkpoint over (log_id, seq, head_hash) signed with the workload key. CPU-bound:
    call it through asyncio.to_thread."""
    if identity.key is None:
        raise ValueError("the workload identity has no private key to sign with")
    checkpoint = audit_pb2.AuditCheckpoint(
        log_id=log_id, seq=seq, hash=head_hash, signer_chain_pem=identity.chain_pem().decode("ascii")
    )
    checkpoint.time.FromDatetime(now or datetime.now(timezone.utc))
    checkpoint.signature = identity.key.sign(
        checkpoint_signing_input(checkpoint), ec.ECDSA(hashes.SHA256())
    )
    return checkpoint


def verify_checkpoint(
    checkpoint: audit_pb2.AuditCheckpoint,
    writer: str,
    roots: Sequence[x509.Certificate] | None,
) -> None:
    """CheckpointRejected unless the checkpoint is signed by a certificate for `writer`
    that, with `roots`, chains to one of them at the checkpoint's own time. With roots None
    only the signature and the identity are checked (the chain's trust is not)."""
    try:
        chain = x509.load_pem_x509_certificates(checkpoint.signer_chain_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise CheckpointRejected("signer certificate chain cannot be parsed") from None
    leaf, intermediates = chain[0], chain[1:]
    try:
        signer = spiffe_id_of(leaf)
    except ValueError as err:
        raise CheckpointRejected(f"signer certificate: {err}") from None
    if signer != writer:
        raise CheckpointRejected(f"signed by {signer}, not by the log's writer {writer}")
    public_key = leaf.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise CheckpointRejected("signer key is not ECDSA")
    try:
        public_key.verify(
            checkpoint.signature, checkpoint_signing_input(checkpoint), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        raise CheckpointRejected("signature does not verify (forged or altered)") from None
    if roots is not None:
        try:
            verify_chain(leaf, intermediates, roots, now=checkpoint.time.ToDatetime(timezone.utc))
        except PeerRejected as err:
            raise CheckpointRejected(f"signer not trusted: {err.reason}") from None
