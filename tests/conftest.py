"""Fixtures shared across test suites. Store: one real single-member etcd per session
(clean key space per test) and its writer / reader stores."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from mesh.store.etcd import EtcdStore
from mesh.store.local_etcd import LocalEtcd
from tests.support.etcd import clear_prefix, new_local_etcd, start_blocking, stop_blocking


@pytest.fixture(scope="session")
def local_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcd]:
    """A running single-member etcd with mTLS and auth, shared by the whole session."""
    etcd = new_local_etcd(tmp_path_factory.mktemp("etcd"))
    start_blocking(etcd)
    try:
        yield etcd
    finally:
        stop_blocking(etcd)


@pytest.fixture
async def etcd_writer(local_etcd: LocalEtcd) -> AsyncIterator[EtcdStore]:
    """The writer user's store on an empty mesh prefix."""
    await clear_prefix(local_etcd)
    store = local_etcd.store_for(local_etcd.writer_user)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def etcd_reader(local_etcd: LocalEtcd) -> AsyncIterator[EtcdStore]:
    """The reader user's store (etcd role mesh-reader) on the same etcd."""
    store = local_etcd.store_for(local_etcd.reader_user)
    try:
        yield store
    finally:
        await store.close()
