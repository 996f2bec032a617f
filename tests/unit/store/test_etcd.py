"""EtcdStore without an etcd: the endpoint → channel target rule, the one gRPC error
translation, and an unreachable cluster reported as StoreUnavailable."""

from __future__ import annotations

import grpc
import pytest

from certs.ca import create_root, issue_client
from mesh.store.base import Store
from mesh.store.errors import Compacted, LeaseNotFound, StoreError, StorePermissionDenied, StoreUnavailable
from mesh.store.etcd import EtcdStore, channel_target
from mesh.store.etcd_errors import to_store_error
from mesh.store.memory import MemoryStore
from tests.support.wait import free_port


def test_both_stores_satisfy_the_store_protocol() -> None:
    """MemoryStore and EtcdStore are interchangeable wherever a Store is expected (mypy)."""
    stores: list[type[Store]] = [MemoryStore, EtcdStore]
    assert stores


@pytest.mark.parametrize(
    ("endpoints", "server_name", "expected"),
    [
        (["127.0.0.1:2379"], None, ("ipv4:127.0.0.1:2379", "127.0.0.1")),
        (["127.0.0.1:2379", "127.0.0.1:22379"], None, ("ipv4:127.0.0.1:2379,127.0.0.1:22379", "127.0.0.1")),
        (["https://127.0.0.1:2379"], None, ("ipv4:127.0.0.1:2379", "127.0.0.1")),
        (["10.0.0.1:2379", "10.0.0.2:2379"], "etcd", ("ipv4:10.0.0.1:2379,10.0.0.2:2379", "etcd")),
        (["[::1]:2379", "[::1]:2380"], None, ("ipv6:[::1]:2379,[::1]:2380", "::1")),
        (["etcd.mesh.svc:2379"], None, ("dns:///etcd.mesh.svc:2379", None)),
        (["etcd.mesh.svc:2379"], "etcd", ("dns:///etcd.mesh.svc:2379", "etcd")),
    ],
)
def test_channel_target(endpoints: list[str], server_name: str | None, expected: tuple[str, str | None]) -> None:
    """IP endpoints make one multi-address target; one DNS name resolves to all members."""
    assert channel_target(endpoints, server_name) == expected


@pytest.mark.parametrize(
    "endpoints",
    [
        pytest.param([], id="none"),
        pytest.param(["etcd-0:2379", "etcd-1:2379"], id="several-dns-names"),
        pytest.param(["127.0.0.1:2379", "etcd-1:2379"], id="ip-and-dns"),
        pytest.param(["127.0.0.1:2379", "[::1]:2379"], id="ipv4-and-ipv6"),
        pytest.param(["10.0.0.1:2379", "10.0.0.2:2379"], id="different-ips-without-server-name"),
        pytest.param(["127.0.0.1"], id="no-port"),
        pytest.param(["127.0.0.1:http"], id="port-not-a-number"),
    ],
)
def test_channel_target_refuses(endpoints: list[str]) -> None:
    """Endpoint lists that cannot become one verified channel are a ValueError."""
    with pytest.raises(ValueError):
        channel_target(endpoints, None)


@pytest.mark.parametrize(
    ("code", "details", "expected"),
    [
        (grpc.StatusCode.UNAVAILABLE, "etcdserver: no leader", StoreUnavailable),
        (grpc.StatusCode.UNAVAILABLE, "etcdserver: request timed out", StoreUnavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", StoreUnavailable),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "etcdserver: too many requests", StoreUnavailable),
        (grpc.StatusCode.CANCELLED, "Channel closed", StoreUnavailable),
        (grpc.StatusCode.PERMISSION_DENIED, "etcdserver: permission denied", StorePermissionDenied),
        (grpc.StatusCode.UNAUTHENTICATED, "etcdserver: invalid auth token", StorePermissionDenied),
        (grpc.StatusCode.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted", Compacted),
        (grpc.StatusCode.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision", ValueError),
        (grpc.StatusCode.NOT_FOUND, "etcdserver: requested lease not found", LeaseNotFound),
        (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request", ValueError),
        (grpc.StatusCode.INTERNAL, "something else", StoreError),
    ],
)
def test_grpc_status_maps_to_one_store_error(code: grpc.StatusCode, details: str, expected: type[Exception]) -> None:
    """Each etcd status becomes exactly one store-level exception type."""
    error = to_store_error(code, details)
    assert type(error) is expected


def _store_on_a_closed_port(timeout: float) -> EtcdStore:
    root = create_root()
    client = issue_client(root, "nobody")
    return EtcdStore([f"127.0.0.1:{free_port()}"], root.cert_pem(), client.chain_pem(), client.key_pem(), timeout)


async def test_unreachable_cluster_is_store_unavailable() -> None:
    """Calls against no listening member fail with StoreUnavailable, within the deadline."""
    store = _store_on_a_closed_port(timeout=1.0)
    try:
        with pytest.raises(StoreUnavailable):
            await store.get(b"/k")
    finally:
        await store.close()


async def test_watch_on_an_unreachable_cluster_is_store_unavailable() -> None:
    """A watch that cannot reach etcd raises StoreUnavailable rather than hanging."""
    store = _store_on_a_closed_port(timeout=1.0)
    watch = store.watch(b"/k/", 1)
    try:
        with pytest.raises(StoreUnavailable):
            await anext(watch)
    finally:
        await watch.aclose()
        await store.close()
