"""MemoryStore beyond the shared contract: the read-only option, shared views, the
injected clock, and close()."""

from __future__ import annotations

import asyncio

import pytest

from mesh.store.base import Put
from mesh.store.errors import LeaseNotFound, StorePermissionDenied
from mesh.store.memory import MemoryStore
from tests.support.clock import FakeClock


async def test_read_only_store_refuses_writes() -> None:
    """MemoryStore(read_only=True) mirrors a reader role: writes are StorePermissionDenied."""
    store = MemoryStore(read_only=True)
    with pytest.raises(StorePermissionDenied):
        await store.put(b"/k", b"v")
    with pytest.raises(StorePermissionDenied):
        await store.txn((), (Put(b"/k", b"v"),))
    assert await store.get(b"/k") is None


async def test_reader_view_sees_later_writes() -> None:
    """reader() shares the data: a write after the view was made is visible through it."""
    store = MemoryStore()
    reader = store.reader()
    await store.put(b"/k", b"v")
    kv = await reader.get(b"/k")
    assert kv is not None and kv.value == b"v"


async def test_lease_lives_until_its_ttl_on_the_injected_clock() -> None:
    """Expiry follows the injected clock only: just before the TTL the key is there."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    lease = await store.grant_lease(10)
    await store.put(b"/k", b"v", lease=lease)
    clock.advance(9.9)
    assert await store.get(b"/k") is not None
    clock.advance(0.1)
    assert await store.get(b"/k") is None


async def test_keepalive_restarts_the_ttl() -> None:
    """A keepalive pushes expiry a full TTL past the moment of the keepalive."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    lease = await store.grant_lease(10)
    await store.put(b"/k", b"v", lease=lease)
    clock.advance(8)
    assert await store.keepalive_once(lease) == 10
    clock.advance(8)
    assert await store.get(b"/k") is not None
    clock.advance(2)
    assert await store.get(b"/k") is None
    with pytest.raises(LeaseNotFound):
        await store.keepalive_once(lease)


async def test_expiry_deletes_all_lease_keys_in_one_revision() -> None:
    """Like etcd's lease revoke, expiry is one revision for all of the lease's keys."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    lease = await store.grant_lease(1)
    await store.put(b"/a", b"1", lease=lease)
    before = await store.put(b"/b", b"1", lease=lease)
    clock.advance(1)
    assert await store.current_revision() == before + 1


async def test_overwriting_a_leased_key_without_lease_detaches_it() -> None:
    """A put with lease 0 takes the key off its old lease; the lease's end spares it."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    lease = await store.grant_lease(1)
    await store.put(b"/k", b"1", lease=lease)
    await store.put(b"/k", b"2")
    clock.advance(5)
    kv = await store.get(b"/k")
    assert kv is not None and (kv.value, kv.lease) == (b"2", 0)


async def test_close_ends_the_store_watches() -> None:
    """close() makes a waiting watch finish normally."""
    store = MemoryStore()
    watch = store.watch(b"/", 0)
    waiting = asyncio.ensure_future(anext(watch, None))
    await asyncio.sleep(0)  # let the watch subscribe
    await store.close()
    assert await asyncio.wait_for(waiting, 1.0) is None


async def test_close_of_a_reader_view_leaves_the_writer_watches_running() -> None:
    """Each view closes only its own watches."""
    store = MemoryStore()
    reader = store.reader()
    watch = store.watch(b"/", 0)
    waiting = asyncio.ensure_future(anext(watch))
    await asyncio.sleep(0)
    await reader.close()
    await store.put(b"/k", b"v")
    batch = await asyncio.wait_for(waiting, 1.0)
    assert [e.kv.key for e in batch.events] == [b"/k"]
    await watch.aclose()
