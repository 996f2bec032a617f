"""ControlPlaneSink: checkpoints reach the control plane over mTLS as this sidecar, follow
certificate rotation, and every failure raises (so the audit log's publisher retries) and is
logged without the checkpoint itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest
from grpc import aio
from structlog.testing import capture_logs

from certs.ca import Issued
from mesh.audit.checkpoint import sign_checkpoint
from mesh.v1 import audit_pb2
from mesh.v1 import audit_service_pb2 as api
from mesh.v1 import audit_service_pb2_grpc as audit_grpc
from sidecar.channels import TlsMaterial
from sidecar.checkpoints import CheckpointUnsent, ControlPlaneSink
from tests.support.badcerts import MeshPKI, make_pki
from tests.support.wait import free_port

TRUST_DOMAIN = "tsunagi.test"
CONTROL_PLANE = f"spiffe://{TRUST_DOMAIN}/mesh/control-plane"
SIDECAR = f"spiffe://{TRUST_DOMAIN}/org/131008/sys/kaigo"
LOG_ID = "8d6f1c1e-4a57-4c36-9d0e-6f4b2a1c9e70"


@dataclass
class FakeWitness(audit_grpc.AuditServiceServicer):
    """Records who submitted what; answers with `refuse` when it is set."""

    received: list[tuple[str, bytes, audit_pb2.AuditCheckpoint]] = field(default_factory=list)
    refuse: grpc.StatusCode | None = None

    async def SubmitCheckpoint(self, request: audit_pb2.AuditCheckpoint,
                               context: aio.ServicerContext) -> api.SubmitCheckpointResponse:
        auth = context.auth_context()
        caller = auth["peer_spiffe_id"][0].decode()
        if self.refuse is not None:
            await context.abort(self.refuse, "rollback: the witness holds a newer checkpoint")
        self.received.append((caller, auth["x509_pem_cert"][0], request))
        return api.SubmitCheckpointResponse(witnessed_seq=request.seq)


@pytest.fixture(scope="module")
def pki() -> MeshPKI:
    return make_pki(TRUST_DOMAIN)


@pytest.fixture(scope="module")
def identity(pki: MeshPKI) -> Issued:
    return pki.issue(SIDECAR)


def tls_of(pki: MeshPKI, identity: Issued) -> TlsMaterial:
    return TlsMaterial(chain_pem=identity.chain_pem(), key_pem=identity.key_pem(), bundle_pem=pki.bundle_pem)


def a_checkpoint(identity: Issued, seq: int = 4) -> audit_pb2.AuditCheckpoint:
    return sign_checkpoint(identity, LOG_ID, seq, "ab" * 32)


@dataclass
class Served:
    witness: FakeWitness
    address: str


async def serve(pki: MeshPKI, serving_id: str = CONTROL_PLANE) -> tuple[aio.Server, Served]:
    serving = pki.issue(serving_id)
    witness = FakeWitness()
    server = aio.server(options=[("grpc.so_reuseport", 0)])
    audit_grpc.add_AuditServiceServicer_to_server(witness, server)
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials(
        [(serving.key_pem(), serving.chain_pem())], root_certificates=pki.bundle_pem,
        require_client_auth=True))
    await server.start()
    return server, Served(witness, f"127.0.0.1:{port}")


@pytest.fixture
async def control_plane(pki: MeshPKI) -> AsyncIterator[Served]:
    server, served = await serve(pki)
    try:
        yield served
    finally:
        await server.stop(None)


@pytest.fixture
async def sink(pki: MeshPKI, identity: Issued, control_plane: Served) -> AsyncIterator[ControlPlaneSink]:
    tls = tls_of(pki, identity)
    made = ControlPlaneSink(control_plane.address, CONTROL_PLANE, lambda: tls, timeout=5.0)
    try:
        yield made
    finally:
        await made.close()


async def test_submit_delivers_the_checkpoint_as_this_sidecar(
    sink: ControlPlaneSink, control_plane: Served, identity: Issued
) -> None:
    """The control plane receives the checkpoint unchanged, from our certificate's identity."""
    sent = a_checkpoint(identity)
    await sink.submit(sent)
    assert [(caller, cp) for caller, _, cp in control_plane.witness.received] == [(SIDECAR, sent)]


@pytest.mark.parametrize(("code", "event", "level"), [
    (grpc.StatusCode.FAILED_PRECONDITION, "audit_checkpoint_refused", "error"),
    (grpc.StatusCode.PERMISSION_DENIED, "audit_checkpoint_refused", "error"),
    (grpc.StatusCode.INVALID_ARGUMENT, "audit_checkpoint_refused", "error"),
    (grpc.StatusCode.UNAVAILABLE, "audit_checkpoint_submit_failed", "warning"),
])
async def test_a_refusal_raises_and_is_logged_without_the_checkpoint(
    sink: ControlPlaneSink, control_plane: Served, identity: Issued,
    code: grpc.StatusCode, event: str, level: str,
) -> None:
    """Every failure raises CheckpointUnsent with the status (the publisher retries); the log
    event names the log, seq and answer, but never the signature or the signer chain."""
    control_plane.witness.refuse = code
    sent = a_checkpoint(identity)
    with capture_logs() as logs, pytest.raises(CheckpointUnsent) as unsent:
        await sink.submit(sent)
    assert unsent.value.code == code
    assert unsent.value.reason.startswith("rollback:")
    [logged] = [entry for entry in logs if entry["event"] == event]
    assert logged["log_level"] == level
    assert (logged["log_id"], logged["seq"], logged["code"]) == (LOG_ID, 4, code.name)
    text = repr(logs)
    assert sent.signature.hex() not in text and "BEGIN CERTIFICATE" not in text
    assert repr(sent.signature) not in text


async def test_rotation_makes_the_next_submission_use_the_new_certificate(
    pki: MeshPKI, identity: Issued, control_plane: Served
) -> None:
    """After the certificate rotates, the next call presents the new one (a new channel)."""
    current = tls_of(pki, identity)
    sink = ControlPlaneSink(control_plane.address, CONTROL_PLANE, lambda: current)
    try:
        await sink.submit(a_checkpoint(identity, 4))
        rotated = pki.issue(SIDECAR)
        current = tls_of(pki, rotated)
        await sink.submit(a_checkpoint(rotated, 8))
    finally:
        await sink.close()
    first, second = [pem for _, pem, _ in control_plane.witness.received]
    assert first.strip() == identity.cert_pem().strip()
    assert second.strip() == rotated.cert_pem().strip()


async def test_a_server_with_another_identity_gets_nothing(pki: MeshPKI, identity: Issued) -> None:
    """The channel is pinned to the control plane's identity: a mesh server with another
    SPIFFE ID fails the handshake, so the checkpoint is not sent (and submit raises)."""
    server, impostor = await serve(pki, serving_id=f"spiffe://{TRUST_DOMAIN}/org/131008/sys/juki")
    tls = tls_of(pki, identity)
    sink = ControlPlaneSink(impostor.address, CONTROL_PLANE, lambda: tls, timeout=5.0)
    try:
        with capture_logs(), pytest.raises(CheckpointUnsent) as unsent:
            await sink.submit(a_checkpoint(identity))
    finally:
        await sink.close()
        await server.stop(None)
    assert unsent.value.code == grpc.StatusCode.UNAVAILABLE
    assert impostor.witness.received == []


async def test_an_unreachable_control_plane_raises_unavailable(pki: MeshPKI, identity: Issued) -> None:
    """Nobody listening: submit raises CheckpointUnsent(UNAVAILABLE) promptly."""
    tls = tls_of(pki, identity)
    sink = ControlPlaneSink(f"127.0.0.1:{free_port()}", CONTROL_PLANE, lambda: tls, timeout=5.0)
    try:
        with capture_logs(), pytest.raises(CheckpointUnsent) as unsent:
            await sink.submit(a_checkpoint(identity))
    finally:
        await sink.close()
    assert unsent.value.code == grpc.StatusCode.UNAVAILABLE
