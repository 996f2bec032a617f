"""Leader election on an etcd lease: exactly one control-plane replica runs once-only work.

A replica becomes leader by creating LEADER_KEY under its own lease in a transaction that
requires the key to be absent; it stays leader while it keeps the lease alive. If it cannot
refresh within the lease's TTL, etcd deletes the key and another replica takes over; the old
leader stops its work as soon as a refresh fails, so two leaders never overlap for longer than
the time between refreshes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Awaitable, Callable

import structlog

from mesh import keys
from mesh.store.base import Compare, Put, Store
from mesh.store.errors import LeaseNotFound, StoreError

log = structlog.get_logger("control_plane.leader")


class Elector:
    """Campaigns forever; runs `work` while leader and cancels it when leadership is lost."""

    def __init__(self, store: Store, identity: str, ttl_seconds: int = 10) -> None:
        self._store = store
        self._identity = identity
        self._ttl = ttl_seconds
        self.is_leader = False

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            lease = await self._campaign()
            task = asyncio.create_task(work())
            try:
                await self._hold(lease, task)
            finally:
                self.is_leader = False
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, StoreError):
                    await task
                with contextlib.suppress(StoreError):
                    await self._store.revoke_lease(lease)

    async def _campaign(self) -> int:
        """Block until this replica holds the leader key; returns its lease."""
        while True:
            try:
                lease = await self._store.grant_lease(self._ttl)
                won = await self._store.txn([Compare(keys.LEADER_KEY.encode(), 0)],
                                            [Put(keys.LEADER_KEY.encode(), self._identity.encode(), lease)])
                if won.succeeded:
                    self.is_leader = True
                    log.info("leadership_acquired", identity=self._identity)
                    return lease
                await self._store.revoke_lease(lease)
            except StoreError as exc:
                log.warning("leader_campaign_failed", reason=str(exc))
            await asyncio.sleep(self._ttl / 3)

    async def _hold(self, lease: int, task: asyncio.Task[None]) -> None:
        """Refresh the lease every ttl/3 until a refresh fails or the work ends."""
        while not task.done():
            await asyncio.sleep(self._ttl / 3)
            try:
                await self._store.keepalive_once(lease)
            except (LeaseNotFound, StoreError) as exc:
                log.warning("leadership_lost", identity=self._identity, reason=str(exc))
                return


async def compact_history(store: Store, keep_revisions: int = 10_000, every_seconds: float = 600) -> None:
    """Leader-only: compact etcd's history, keeping the newest `keep_revisions` revisions.

    Sidecars that were away longer than that list again (they handle Compacted), so history
    cannot grow without bound.
    """
    while True:
        await asyncio.sleep(every_seconds)
        try:
            revision = await store.current_revision()
            if revision > keep_revisions:
                await store.compact(revision - keep_revisions)
                log.info("etcd_compacted", revision=revision - keep_revisions)
        except StoreError as exc:
            log.warning("etcd_compaction_failed", reason=str(exc))
