"""Test harness for the audit witness: a mesh PKI, the identities that call it, and the real
AuditService on an in-process mTLS server (127.0.0.1, free port) over a MemoryStore."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import grpc
import yaml
from grpc import aio

from certs.ca import Issued
from certs.spiffe_id import dns_name_for
from control_plane.audit_service import HISTORY, AuditService
from control_plane.authz import Authorizer, Binding
from control_plane.interceptor import ErrorInterceptor
from mesh.audit.checkpoint import sign_checkpoint
from mesh.store.base import Store
from mesh.store.memory import MemoryStore
from mesh.v1 import audit_pb2
from mesh.v1 import audit_service_pb2_grpc as audit_grpc
from tests.support.badcerts import MeshPKI

TRUST_DOMAIN = "tsunagi.test"
CONTROL_PLANE = f"spiffe://{TRUST_DOMAIN}/mesh/control-plane"
WRITER = f"spiffe://{TRUST_DOMAIN}/org/131008/sys/kaigo"  # as tests.unit.audit.logs writes
OTHER = f"spiffe://{TRUST_DOMAIN}/org/131008/sys/juki"
OPERATOR = f"spiffe://{TRUST_DOMAIN}/org/131008/operator/alice"


def new_log_id() -> str:
    return str(uuid.uuid4())


def checkpoint(identity: Issued, log_id: str, seq: int, head: str | None = None) -> audit_pb2.AuditCheckpoint:
    """A checkpoint of `log_id` at `seq` signed by `identity`; the head hash derives from seq
    unless given."""
    head = head or hashlib.sha256(f"{log_id}#{seq}".encode()).hexdigest()
    return sign_checkpoint(identity, log_id, seq, head, now=datetime.now(timezone.utc))


@dataclass
class Witness:
    """A running AuditService: its store, address, and channels opened per identity."""

    store: Store
    address: str
    pki: MeshPKI
    _channels: list[aio.Channel] = field(default_factory=list)

    def stub(self, identity: Issued) -> audit_grpc.AuditServiceStub:
        """A client authenticated by `identity`'s certificate, pinned to the control plane."""
        credentials = grpc.ssl_channel_credentials(self.pki.bundle_pem, identity.key_pem(), identity.chain_pem())
        channel = aio.secure_channel(self.address, credentials,
                                     options=[("grpc.ssl_target_name_override", dns_name_for(CONTROL_PLANE))])
        self._channels.append(channel)
        return audit_grpc.AuditServiceStub(channel)


@asynccontextmanager
async def running_witness(pki: MeshPKI, store: Store | None = None, history: int = HISTORY) -> AsyncIterator[Witness]:
    """The AuditService behind the control plane's error interceptor, with OPERATOR as viewer."""
    store = store if store is not None else MemoryStore()
    serving = pki.issue(CONTROL_PLANE)
    service = AuditService(store, [pki.root.cert], TRUST_DOMAIN,
                           Authorizer([Binding(OPERATOR, "viewer")]), history=history)
    server = aio.server(interceptors=[ErrorInterceptor()], options=[("grpc.so_reuseport", 0)])
    audit_grpc.add_AuditServiceServicer_to_server(service, server)
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials(
        [(serving.key_pem(), serving.chain_pem())], root_certificates=pki.bundle_pem,
        require_client_auth=True))
    await server.start()
    witness = Witness(store, f"127.0.0.1:{port}", pki)
    try:
        yield witness
    finally:
        for channel in witness._channels:
            await channel.close()
        await server.stop(None)


def write_meshconfig(directory: Path, witness: Witness, identity: Issued) -> Path:
    """A meshconfig whose one context calls `witness` as `identity`."""
    (directory / "client.pem").write_bytes(identity.chain_pem())
    (directory / "client.key").write_bytes(identity.key_pem())
    (directory / "bundle.pem").write_bytes(witness.pki.bundle_pem)
    config = {"currentContext": "test", "contexts": [{
        "name": "test", "server": witness.address, "serverIdentity": CONTROL_PLANE,
        "certFile": "client.pem", "keyFile": "client.key", "bundleFile": "bundle.pem"}]}
    path = directory / "meshconfig"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
