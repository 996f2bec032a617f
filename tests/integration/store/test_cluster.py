"""EtcdStore on a 3-member etcd cluster on loopback: members die, the leader dies, a
member loses its leader; writes carry on and watches resume without gap or duplicate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest

from mesh.store.base import Compare, Event, Put
from mesh.store.errors import StoreUnavailable
from mesh.store.etcd import EtcdStore
from mesh.store.local_etcd import LocalEtcd
from tests.support.etcd import clear_prefix, new_local_etcd, start_blocking, stop_blocking
from tests.support.store_contract import take_events
from tests.support.wait import async_wait_until

MEMBERS = 3
FAILOVER_TIMEOUT = 20.0
RETRY_PAUSE = 0.05  # back-off between retries, not synchronisation


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcd]:
    etcd = new_local_etcd(tmp_path_factory.mktemp("etcd-cluster"), members=MEMBERS)
    start_blocking(etcd)
    try:
        yield etcd
    finally:
        stop_blocking(etcd)


@pytest.fixture
async def healthy(cluster: LocalEtcd) -> AsyncIterator[LocalEtcd]:
    """The cluster with a leader and an empty prefix; every member runs again afterwards."""
    await cluster.leader_index()
    await clear_prefix(cluster)
    try:
        yield cluster
    finally:
        for index in range(MEMBERS):
            if not cluster.is_running(index):
                await cluster.restart(index)
        await cluster.leader_index()


@pytest.fixture
async def writer(healthy: LocalEtcd) -> AsyncIterator[EtcdStore]:
    store = healthy.store_for(healthy.writer_user, timeout=2.0)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def reader(healthy: LocalEtcd) -> AsyncIterator[EtcdStore]:
    store = healthy.store_for(healthy.reader_user, timeout=2.0)
    try:
        yield store
    finally:
        await store.close()


async def create(store: EtcdStore, key: bytes, value: bytes) -> int:
    """Create-if-absent, retried on StoreUnavailable within a bound. The compare makes a
    retry of an attempt that was applied but not acknowledged fail instead of writing twice."""
    async with asyncio.timeout(FAILOVER_TIMEOUT):
        while True:
            try:
                result = await store.txn((Compare(key, 0),), (Put(key, value),))
                if result.succeeded:
                    return result.revision
                existing = await store.get(key)
            except StoreUnavailable:
                await asyncio.sleep(RETRY_PAUSE)
                continue
            assert existing is not None and existing.value == value
            return existing.mod_revision


@dataclass
class Follower:
    """A watch consumer the way the sidecar does it: on StoreUnavailable, resume from the
    last delivered revision + 1."""

    store: EtcdStore
    prefix: bytes
    next_revision: int
    events: list[Event] = field(default_factory=list)
    resumes: int = 0

    async def run(self, max_resumes: int = 400) -> None:
        while True:
            try:
                async for batch in self.store.watch(self.prefix, self.next_revision):
                    self.events.extend(batch.events)
                    self.next_revision = batch.revision + 1
            except StoreUnavailable:
                self.resumes += 1
                if self.resumes > max_resumes:
                    raise
                await asyncio.sleep(RETRY_PAUSE)


async def test_writes_succeed_after_the_leader_is_killed(healthy: LocalEtcd, writer: EtcdStore) -> None:
    """Kill the leader: after a bounded retry on StoreUnavailable a write lands and reads back."""
    prefix = healthy.prefix + b"failover/"
    await create(writer, prefix + b"before", b"1")
    leader = await healthy.leader_index()
    await healthy.kill(leader)
    await create(writer, prefix + b"after", b"2")
    kvs, _ = await writer.range(prefix)
    assert [(kv.key, kv.value) for kv in kvs] == [(prefix + b"after", b"2"), (prefix + b"before", b"1")]
    assert await healthy.leader_index() != leader


async def test_watch_on_the_killed_leader_resumes_with_every_event_once(
    healthy: LocalEtcd, writer: EtcdStore, reader: EtcdStore
) -> None:
    """The watch's own member is the leader and dies mid-stream: resuming from last + 1 on
    the survivors delivers each write exactly once, in revision order."""
    prefix = healthy.prefix + b"resume/"
    follower = Follower(reader, prefix, await writer.current_revision() + 1)
    task = asyncio.create_task(follower.run())
    try:
        serving = await _member_serving_the_watch(healthy)
        await healthy.move_leader(serving)
        for i in range(10):
            await create(writer, prefix + b"k%02d" % i, b"v")
        await async_wait_until(lambda: len(follower.events) >= 5, timeout=10, what="events before the kill")
        await healthy.kill(serving)
        for i in range(10, 20):
            await create(writer, prefix + b"k%02d" % i, b"v")
        await async_wait_until(lambda: len(follower.events) >= 20, timeout=FAILOVER_TIMEOUT, what="all 20 events")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [(e.type, e.kv.key) for e in follower.events] == [("put", prefix + b"k%02d" % i) for i in range(20)]
    revisions = [e.kv.mod_revision for e in follower.events]
    assert revisions == sorted(set(revisions))
    assert follower.resumes >= 1


async def test_watch_ends_when_its_member_loses_the_leader(healthy: LocalEtcd, writer: EtcdStore) -> None:
    """With require-leader metadata, a member cut off from the quorum ends the watch with
    StoreUnavailable instead of leaving it silent."""
    prefix = healthy.prefix + b"noleader/"
    leader = await healthy.leader_index()
    lonely = (leader + 1) % MEMBERS
    store = healthy.store_for(healthy.reader_user, members=[lonely])
    watch = store.watch(prefix, await writer.current_revision() + 1)
    try:
        await create(writer, prefix + b"a", b"1")
        await take_events(watch, 1)
        for index in range(MEMBERS):
            if index != lonely:
                await healthy.kill(index)
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(anext(watch), FAILOVER_TIMEOUT)
    finally:
        await watch.aclose()
        await store.close()


async def test_calls_move_off_a_killed_follower(healthy: LocalEtcd, writer: EtcdStore) -> None:
    """After a follower dies, calls settle on the others within a bound and then succeed
    every time: the balancer skips the dead member."""
    key = healthy.prefix + b"balance"
    await create(writer, key, b"1")
    for _ in range(2 * MEMBERS):  # a call per member, so every subchannel is connected
        await writer.get(key)
    leader = await healthy.leader_index()
    await healthy.kill((leader + 1) % MEMBERS)
    failures = 0
    streak = 0
    async with asyncio.timeout(FAILOVER_TIMEOUT):
        while streak < 30:
            try:
                await writer.get(key)
                streak += 1
            except StoreUnavailable:
                failures, streak = failures + 1, 0
    assert failures <= 2


async def test_a_dead_first_endpoint_does_not_delay_a_new_store(healthy: LocalEtcd) -> None:
    """A store whose first endpoint is down answers its first call from another member."""
    leader = await healthy.leader_index()
    dead = (leader + 1) % MEMBERS
    await healthy.kill(dead)
    order = [dead] + [i for i in range(MEMBERS) if i != dead]
    store = healthy.store_for(healthy.writer_user, members=order, timeout=2.0)
    try:
        assert await store.put(healthy.prefix + b"first", b"1") > 0
    finally:
        await store.close()


async def _member_serving_the_watch(cluster: LocalEtcd) -> int:
    """Which member holds our one watch (etcd's watcher gauge), bounded."""
    async with asyncio.timeout(10):
        while True:
            for index in range(MEMBERS):
                if await cluster.watcher_count(index) > 0:
                    return index
            await asyncio.sleep(RETRY_PAUSE)
