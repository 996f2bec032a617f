"""The config client on a real etcd as the sidecar's read-only user: it converges on what the
control plane writes, survives an etcd restart and a compaction, and refuses values written
behind the control plane's back while serving the previous snapshot."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mesh.keys import CONFIG_PREFIX
from mesh.store.etcd import EtcdStore
from mesh.store.errors import StorePermissionDenied
from mesh.v1 import signed_pb2
from sidecar.config_client import ConfigClient
from tests.integration.sidecar.conftest import EtcdEnv, running
from tests.support.config_writer import ConfigWriter
from tests.support.resources import SERVICE, base_mesh, key_of, put, route, system
from tests.support.wait import async_wait_until

ROUTE_KEY = key_of(route())
SYSTEM_KEY = key_of(system("welfare"))
CONVERGE_S = 10.0


async def _converged(client: ConfigClient, revision: int) -> None:
    await async_wait_until(lambda: client.status().seen_revision >= revision,
                           timeout=CONVERGE_S, what=f"client at revision {revision}")


async def test_the_sidecar_user_cannot_write(etcd_env: EtcdEnv) -> None:
    """The client's etcd user has the read-only role: etcd itself refuses its writes."""
    reader = etcd_env.store(etcd_env.etcd.reader_user)
    try:
        with pytest.raises(StorePermissionDenied):
            await reader.put((CONFIG_PREFIX + "x").encode(), b"x")
    finally:
        await reader.close()


async def test_the_client_converges_after_a_write(
    writer: ConfigWriter, new_client: Callable[[], ConfigClient]
) -> None:
    """Each commit is applied within a bounded wait, and the route follows it."""
    await writer.apply(base_mesh())
    client = new_client()
    async with running(client):
        await async_wait_until(lambda: client.status().version == 1, timeout=CONVERGE_S,
                               what="v1 applied")
        revision = await writer.apply([put(route(timeout_s=7.0))])
        await _converged(client, revision)
    assert client.applied is not None and client.applied.routes[SERVICE].timeout == 7.0
    assert (client.status().version, client.status().revision) == (2, revision)


async def test_the_client_resumes_after_etcd_restarts(
    etcd_env: EtcdEnv, writer: ConfigWriter, new_client: Callable[[], ConfigClient]
) -> None:
    """etcd stops: the applied snapshot keeps serving; etcd returns: changes flow again."""
    await writer.apply(base_mesh())
    client = new_client()
    async with running(client):
        await async_wait_until(lambda: client.status().version == 1, timeout=CONVERGE_S,
                               what="v1 applied")
        await etcd_env.etcd.stop(0)
        try:
            await async_wait_until(lambda: client.status().counters.get("store_errors", 0) >= 1,
                                   timeout=CONVERGE_S, what="the client notices etcd is gone")
            assert client.status().version == 1 and client.applied is not None
        finally:
            await etcd_env.etcd.restart(0)
        fresh = ConfigWriter(etcd_env.store(etcd_env.etcd.writer_user), writer.identity)
        try:
            revision = await fresh.apply([put(route(timeout_s=7.0))])
        finally:
            await fresh.store.close()
        await _converged(client, revision)
    assert client.status().version == 2 and client.status().source == "etcd"


async def test_after_compaction_while_stopped_the_client_lists_again(
    writer: ConfigWriter, root_store: EtcdStore, new_client: Callable[[], ConfigClient]
) -> None:
    """The client's resume revision is compacted away while it is stopped; it lists again
    and reaches the head."""
    await writer.apply(base_mesh())
    client = new_client()
    async with running(client):
        await async_wait_until(lambda: client.status().version == 1, timeout=CONVERGE_S,
                               what="v1 applied")
    await writer.apply([put(route(timeout_s=2.0))])
    head = await writer.apply([put(route(timeout_s=3.0))])
    await root_store.compact(head)
    async with running(client):
        await _converged(client, head)
    status = client.status()
    assert (status.version, status.counters["relists"], status.counters["lists"]) == (3, 1, 2)


def _tampered(value: bytes) -> bytes:
    signed = signed_pb2.SignedValue.FromString(value)
    signed.payload = signed.payload[:-1] + bytes([signed.payload[-1] ^ 1])
    return signed.SerializeToString()


@pytest.mark.parametrize("key,make", [
    (ROUTE_KEY, lambda now, old: route(timeout_s=1.0).SerializeToString()),
    (ROUTE_KEY, lambda now, old: _tampered(now[ROUTE_KEY])),
    (SYSTEM_KEY, lambda now, old: now[ROUTE_KEY]),
    (ROUTE_KEY, lambda now, old: old[ROUTE_KEY]),
], ids=["unsigned", "tampered", "moved", "replayed"])
async def test_a_value_written_as_root_is_rejected_and_the_snapshot_kept(
    writer: ConfigWriter, root_store: EtcdStore, new_client: Callable[[], ConfigClient],
    key: str, make: Callable[[dict[str, bytes], dict[str, bytes]], bytes],
) -> None:
    """Written directly into etcd, past the control plane: refused, counted, not served."""
    await writer.apply(base_mesh())
    old = await _values(root_store)
    await writer.apply([put(route(timeout_s=7.0))])
    now = await _values(root_store)
    client = new_client()
    async with running(client):
        await async_wait_until(lambda: client.status().version == 2, timeout=CONVERGE_S,
                               what="v2 applied")
        kept = client.applied
        revision = await root_store.put(key.encode(), make(now, old))
        await _converged(client, revision)
    status = client.status()
    assert client.applied is kept and status.version == 2
    assert status.counters["rejected"] == 1 and status.last_error


async def _values(store: EtcdStore) -> dict[str, bytes]:
    kvs, _ = await store.range(CONFIG_PREFIX.encode())
    return {kv.key.decode(): kv.value for kv in kvs}
