"""The Store contract against EtcdStore on a real etcd (mTLS, auth, CN users)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from mesh.store.etcd import EtcdStore
from mesh.store.local_etcd import LocalEtcd
from tests.support.store_contract import StoreContract


@pytest.fixture
def store(etcd_writer: EtcdStore) -> EtcdStore:
    return etcd_writer


@pytest.fixture
def reader(etcd_reader: EtcdStore) -> EtcdStore:
    return etcd_reader


@pytest.fixture
def prefix(local_etcd: LocalEtcd) -> bytes:
    return local_etcd.prefix + b"contract/"


@pytest.fixture
def elapse() -> Callable[[float], Awaitable[None]]:
    async def real_time_passes(seconds: float) -> None:
        """etcd runs on the wall clock; the test's bounded wait covers the TTL."""

    return real_time_passes


class TestEtcdStoreContract(StoreContract):
    """EtcdStore keeps every promise of the Store contract on a real etcd."""
