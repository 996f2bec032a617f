"""A real etcd (mTLS, auth) of this package's own, the mesh PKI with a config signer, the
control plane's writer, and config clients on the sidecar's read-only etcd user."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from certs.ca import Issued, create_intermediate, create_root
from mesh.store.etcd import EtcdStore
from mesh.store.etcd_auth import ROOT
from mesh.store.local_etcd import LocalEtcd
from sidecar.config_client import ConfigClient
from sidecar.lkg import LastKnownGood
from sidecar.snapshot import Snapshot
from tests.support.config_writer import ConfigWriter, SignerIdentity
from tests.support.etcd import ELECTION_MS, HEARTBEAT_MS, clear_prefix, start_blocking, stop_blocking
from tests.support.resources import CONSUMER_ID, TRUST_DOMAIN


@dataclass(frozen=True)
class EtcdEnv:
    """The etcd cluster and the CA that issued its server and client certificates."""

    etcd: LocalEtcd
    issuer: Issued
    ca_pem: bytes

    def store(self, user: str) -> EtcdStore:
        return self.etcd.store_for(user)


@dataclass(frozen=True)
class MeshPki:
    """The mesh's root, intermediate and config signer."""

    root: Issued
    intermediate: Issued
    signer: SignerIdentity


@pytest.fixture(scope="module")
def etcd_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdEnv]:
    """A single-member etcd for this package only (tests here stop and restart it)."""
    root = create_root("Sidecar Test etcd Root")
    issuer = create_intermediate(root, "Sidecar Test etcd Intermediate")
    etcd = LocalEtcd(tmp_path_factory.mktemp("etcd"), issuer, root.cert_pem(),
                     heartbeat_ms=HEARTBEAT_MS, election_ms=ELECTION_MS)
    start_blocking(etcd)
    try:
        yield EtcdEnv(etcd, issuer, root.cert_pem())
    finally:
        stop_blocking(etcd)


@pytest.fixture(scope="module")
def mesh_pki() -> MeshPki:
    root = create_root("Mesh Test Root")
    intermediate = create_intermediate(root, "Mesh Test Intermediate")
    return MeshPki(root, intermediate, SignerIdentity.issue(intermediate, TRUST_DOMAIN))


@pytest.fixture
async def writer(etcd_env: EtcdEnv, mesh_pki: MeshPki) -> AsyncIterator[ConfigWriter]:
    """The control plane's writer on an empty mesh prefix (etcd user control-plane)."""
    await clear_prefix(etcd_env.etcd)
    store = etcd_env.store(etcd_env.etcd.writer_user)
    try:
        yield ConfigWriter(store, mesh_pki.signer)
    finally:
        await store.close()


@pytest.fixture
async def root_store(etcd_env: EtcdEnv) -> AsyncIterator[EtcdStore]:
    """etcd's root user: writes behind the control plane's back."""
    store = etcd_env.store(ROOT)
    try:
        yield store
    finally:
        await store.close()


class Applied:
    """Records every snapshot a client swaps in."""

    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []

    async def __call__(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)


@pytest.fixture
async def new_client(
    etcd_env: EtcdEnv, mesh_pki: MeshPki, tmp_path: Path
) -> AsyncIterator[Callable[[], ConfigClient]]:
    """Makes ConfigClients on the sidecar's read-only etcd user, sharing one state dir."""
    made: list[ConfigClient] = []

    def make() -> ConfigClient:
        client = ConfigClient(etcd_env.store(etcd_env.etcd.reader_user), LastKnownGood(tmp_path),
                              [mesh_pki.root.cert], CONSUMER_ID, Applied())
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@contextlib.asynccontextmanager
async def running(client: ConfigClient) -> AsyncIterator[asyncio.Task[None]]:
    """Run the client's long-lived task for the block; cancel it after."""
    task = asyncio.create_task(client.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
