"""Real etcd for tests: a LocalEtcd with a throwaway CA, started and stopped from plain
(sync) pytest fixtures so one cluster can outlive each test's event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from certs.ca import create_intermediate, create_root
from mesh.store.base import DeletePrefix
from mesh.store.etcd_auth import ROOT
from mesh.store.local_etcd import LocalEtcd

# Fast elections keep leader-loss tests short and lower etcd's minimum lease TTL to 1 s
# (1.5 election timeouts, rounded up); 5 heartbeats per election is etcd's floor.
HEARTBEAT_MS = 100
ELECTION_MS = 500


def new_local_etcd(base_dir: Path, members: int = 1) -> LocalEtcd:
    """An unstarted LocalEtcd under `base_dir` with its own root and intermediate CA."""
    root = create_root("Tsunagi Test Root CA")
    intermediate = create_intermediate(root, "Tsunagi Test Intermediate CA")
    return LocalEtcd(
        base_dir,
        intermediate,
        root.cert_pem(),
        members=members,
        heartbeat_ms=HEARTBEAT_MS,
        election_ms=ELECTION_MS,
    )


def start_blocking(etcd: LocalEtcd) -> None:
    """Start from sync code (a session fixture), on a loop of its own."""
    asyncio.run(etcd.start())


def stop_blocking(etcd: LocalEtcd) -> None:
    asyncio.run(etcd.stop_all())


async def clear_prefix(etcd: LocalEtcd) -> None:
    """Delete everything under the mesh prefix, as root."""
    root = etcd.store_for(ROOT)
    try:
        await root.txn((), (DeletePrefix(etcd.prefix),))
    finally:
        await root.close()
