"""etcd auth as bootstrapped by mesh.store: CN users, the reader/writer roles, refusals
made by etcd itself, and a bootstrap that can run twice."""

from __future__ import annotations

import grpc
import pytest
from aetcd import rpc

from certs.ca import create_intermediate, create_root, issue_client
from mesh.store.base import Put
from mesh.store.errors import StorePermissionDenied, StoreUnavailable
from mesh.store.etcd import EtcdStore
from mesh.store.etcd_auth import READER_ROLE, ROOT, WRITER_ROLE, bootstrap_auth
from mesh.store.local_etcd import LocalEtcd


async def test_reader_write_is_refused_by_etcd_itself(local_etcd: LocalEtcd, etcd_reader: EtcdStore) -> None:
    """The refusal is etcd's PERMISSION_DENIED, not a client-side check."""
    with pytest.raises(StorePermissionDenied) as raised:
        await etcd_reader.put(local_etcd.prefix + b"x", b"1")
    cause = raised.value.__cause__
    assert isinstance(cause, grpc.aio.AioRpcError) and cause.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_writer_cannot_write_outside_the_mesh_prefix(etcd_writer: EtcdStore) -> None:
    """mesh-writer's readwrite permission stops at the prefix."""
    with pytest.raises(StorePermissionDenied):
        await etcd_writer.txn((), (Put(b"/elsewhere", b"1"),))


async def test_reader_cannot_read_outside_the_mesh_prefix(etcd_reader: EtcdStore) -> None:
    """mesh-reader may read the prefix only."""
    with pytest.raises(StorePermissionDenied):
        await etcd_reader.range(b"/elsewhere/")


async def test_certificate_for_an_unknown_user_can_do_nothing(local_etcd: LocalEtcd) -> None:
    """A valid certificate whose CN is no etcd user is refused reads, writes and watches."""
    store = local_etcd.store_for("stranger")
    try:
        with pytest.raises(StorePermissionDenied):
            await store.get(local_etcd.prefix + b"x")
        with pytest.raises(StorePermissionDenied):
            await store.put(local_etcd.prefix + b"x", b"1")
        with pytest.raises(StorePermissionDenied):
            await anext(store.watch(local_etcd.prefix, 0))
    finally:
        await store.close()


async def test_certificate_from_another_ca_is_refused_at_the_handshake(local_etcd: LocalEtcd) -> None:
    """etcd's --client-cert-auth rejects a client certificate it cannot chain to its CA."""
    other = create_intermediate(create_root("Other Root"))
    issued = issue_client(other, ROOT)
    store = EtcdStore(local_etcd.endpoints, local_etcd.ca_pem, issued.chain_pem(), issued.key_pem(), timeout=2.0)
    try:
        with pytest.raises(StoreUnavailable):
            await store.get(local_etcd.prefix + b"x")
    finally:
        await store.close()


async def test_root_has_no_password_to_log_in_with(local_etcd: LocalEtcd) -> None:
    """Users are created with etcd's no-password option: password login fails for root."""
    store = local_etcd.store_for(ROOT)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await rpc.AuthStub(store.admin_channel()).Authenticate(
                rpc.AuthenticateRequest(name=ROOT, password=""), timeout=5.0
            )
        assert "no password user" in (raised.value.details() or "")
    finally:
        await store.close()


async def test_bootstrap_auth_can_run_again(local_etcd: LocalEtcd, etcd_writer: EtcdStore, etcd_reader: EtcdStore) -> None:
    """A second bootstrap on an enabled cluster changes nothing and leaves the roles working."""
    root = local_etcd.store_for(ROOT)
    try:
        await bootstrap_auth(root, local_etcd.prefix, local_etcd.writer_user, local_etcd.reader_user)
        auth = rpc.AuthStub(root.admin_channel())
        users = (await auth.UserList(rpc.AuthUserListRequest(), timeout=5.0)).users
        roles = (await auth.RoleList(rpc.AuthRoleListRequest(), timeout=5.0)).roles
        root_roles = (await auth.UserGet(rpc.AuthUserGetRequest(name=ROOT), timeout=5.0)).roles
    finally:
        await root.close()
    assert sorted(users) == sorted([ROOT, local_etcd.writer_user, local_etcd.reader_user])
    assert sorted(roles) == [READER_ROLE, WRITER_ROLE]  # etcd 3.4 does not list its built-in root role
    assert list(root_roles) == [ROOT]
    await etcd_writer.put(local_etcd.prefix + b"x", b"1")
    with pytest.raises(StorePermissionDenied):
        await etcd_reader.put(local_etcd.prefix + b"x", b"2")
