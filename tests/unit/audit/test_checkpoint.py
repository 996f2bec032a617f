"""Checkpoints: signed by the writer's workload key, verified against the writer's SPIFFE ID
and the trust bundle at the checkpoint's own time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from certs.ca import Issued, create_intermediate, create_root, issue_workload
from mesh.audit import CheckpointRejected, sign_checkpoint, verify_checkpoint
from mesh.audit.checkpoint import spiffe_id_of
from tests.support.badcerts import MeshPKI
from tests.unit.audit.logs import PEER, WRITER

_HEAD = "ab" * 32


def test_signed_checkpoint_verifies(identity: Issued, pki: MeshPKI) -> None:
    """A checkpoint signed by the writer verifies against the mesh root."""
    checkpoint = sign_checkpoint(identity, "log-1", 12, _HEAD)
    verify_checkpoint(checkpoint, WRITER, [pki.root.cert])
    assert (checkpoint.log_id, checkpoint.seq, checkpoint.hash) == ("log-1", 12, _HEAD)


def test_checkpoint_carries_the_signer_chain(identity: Issued) -> None:
    """The signer's certificate and intermediates travel in the checkpoint (PEM)."""
    checkpoint = sign_checkpoint(identity, "log-1", 1, _HEAD)
    assert checkpoint.signer_chain_pem.encode() == identity.chain_pem()


@pytest.mark.parametrize("field", ["log_id", "seq", "hash", "time"])
def test_altered_checkpoint_is_rejected(identity: Issued, pki: MeshPKI, field: str) -> None:
    """Changing any signed field breaks the signature."""
    checkpoint = sign_checkpoint(identity, "log-1", 12, _HEAD)
    if field == "log_id":
        checkpoint.log_id = "log-2"
    elif field == "seq":
        checkpoint.seq = 13
    elif field == "hash":
        checkpoint.hash = "cd" * 32
    else:
        checkpoint.time.seconds += 1
    with pytest.raises(CheckpointRejected, match="signature"):
        verify_checkpoint(checkpoint, WRITER, [pki.root.cert])


def test_checkpoint_from_a_foreign_ca_is_rejected(foreign_pki: MeshPKI, pki: MeshPKI) -> None:
    """A valid signature by a certificate for the writer's ID from another CA is not trusted."""
    checkpoint = sign_checkpoint(foreign_pki.issue(WRITER), "log-1", 1, _HEAD)
    with pytest.raises(CheckpointRejected, match="not trusted"):
        verify_checkpoint(checkpoint, WRITER, [pki.root.cert])


def test_checkpoint_by_another_workload_is_rejected(pki: MeshPKI) -> None:
    """A mesh workload other than the log's writer cannot vouch for the log."""
    checkpoint = sign_checkpoint(pki.issue(PEER), "log-1", 1, _HEAD)
    with pytest.raises(CheckpointRejected, match="not by the log's writer"):
        verify_checkpoint(checkpoint, WRITER, [pki.root.cert])


def test_checkpoint_outside_its_certificate_validity_is_rejected(pki: MeshPKI) -> None:
    """The signer certificate must be valid at the checkpoint's time (not at verification time)."""
    short_lived = pki.issue(WRITER, lifetime=timedelta(hours=1))
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    checkpoint = sign_checkpoint(short_lived, "log-1", 1, _HEAD, now=later)
    with pytest.raises(CheckpointRejected, match="not trusted"):
        verify_checkpoint(checkpoint, WRITER, [pki.root.cert])


def test_checkpoint_of_an_expired_certificate_verifies_for_its_own_time() -> None:
    """An old log stays verifiable after its signer's short-lived certificate has expired."""
    then = datetime.now(timezone.utc) - timedelta(days=3)
    root = create_root(trust_domain="tsunagi.test", now=then)
    expired = issue_workload(create_intermediate(root, now=then), WRITER, timedelta(hours=1), now=then)
    checkpoint = sign_checkpoint(expired, "log-1", 1, _HEAD, now=then + timedelta(minutes=10))
    verify_checkpoint(checkpoint, WRITER, [root.cert])


def test_without_roots_only_the_signature_and_identity_are_checked(foreign_pki: MeshPKI) -> None:
    """roots=None skips the chain check but still refuses a bad signature."""
    checkpoint = sign_checkpoint(foreign_pki.issue(WRITER), "log-1", 1, _HEAD)
    verify_checkpoint(checkpoint, WRITER, None)
    checkpoint.seq = 2
    with pytest.raises(CheckpointRejected):
        verify_checkpoint(checkpoint, WRITER, None)


def test_unparsable_signer_chain_is_rejected(identity: Issued) -> None:
    """A checkpoint without a readable certificate chain is refused."""
    checkpoint = sign_checkpoint(identity, "log-1", 1, _HEAD)
    checkpoint.signer_chain_pem = "not a certificate"
    with pytest.raises(CheckpointRejected, match="cannot be parsed"):
        verify_checkpoint(checkpoint, WRITER, None)


def test_spiffe_id_of_reads_the_one_uri_san(identity: Issued, pki: MeshPKI) -> None:
    """The writer's identity is the certificate's URI SAN; a CA certificate's own SAN is its trust domain."""
    assert spiffe_id_of(identity.cert) == WRITER
    assert spiffe_id_of(pki.root.cert) == "spiffe://tsunagi.test"
