"""Leader election on a lease: one leader at a time, and a new one when it goes away."""

from __future__ import annotations

import asyncio

from control_plane.leader import Elector
from mesh import keys
from mesh.store.base import Put
from mesh.store.memory import MemoryStore
from tests.support.clock import FakeClock
from tests.support.wait import async_wait_until


def recorder(running: list[str], name: str):
    async def body() -> None:
        running.append(name)
        await asyncio.Event().wait()
    return body


async def test_only_one_replica_leads_and_hands_over_when_it_stops() -> None:
    """Two electors: exactly one runs the work; when the leader stops, the other leads."""
    store = MemoryStore()
    running: list[str] = []
    a, b = Elector(store, "a", ttl_seconds=1), Elector(store, "b", ttl_seconds=1)
    task_a = asyncio.create_task(a.run(recorder(running, "a")))
    await async_wait_until(lambda: running == ["a"], what="a's work runs")
    task_b = asyncio.create_task(b.run(recorder(running, "b")))
    await async_wait_until(lambda: b.is_leader is False and a.is_leader, what="a still leads")
    assert (await store.get(keys.LEADER_KEY.encode())).value == b"a"
    task_a.cancel()
    await asyncio.gather(task_a, return_exceptions=True)
    await async_wait_until(lambda: running == ["a", "b"], timeout=10, what="b takes over")
    task_b.cancel()
    await asyncio.gather(task_b, return_exceptions=True)


async def test_a_crashed_leaders_key_expires_with_its_lease() -> None:
    """A leader that died without revoking blocks others only until its lease expires."""
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    lease = await store.grant_lease(5)
    await store.txn([], [Put(keys.LEADER_KEY.encode(), b"dead", lease)])
    running: list[str] = []
    b = Elector(store, "b", ttl_seconds=1)
    task = asyncio.create_task(b.run(recorder(running, "b")))
    await asyncio.sleep(0)
    assert not b.is_leader
    clock.advance(6)
    await async_wait_until(lambda: running == ["b"], timeout=10, what="b leads after expiry")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
