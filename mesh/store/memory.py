"""MemoryStore: an in-process fake of the etcd store with the same semantics (revisions,
versions, leases on an injectable clock, compaction, watch with history)."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field

from mesh.store.base import (
    Changes,
    Compare,
    Delete,
    DeletePrefix,
    Event,
    KeyValue,
    Op,
    Put,
    TxnResult,
    WatchBatch,
)
from mesh.store.errors import Compacted, LeaseNotFound, StorePermissionDenied
from mesh.store.keyrange import check_ops, in_range, prefix_end

# etcd refuses TTLs below 1.5 election timeouts; with its defaults that rounds up to 2 s.
MIN_LEASE_TTL = 1


@dataclass(slots=True)
class _Lease:
    ttl: int
    expires_at: float
    keys: set[bytes] = field(default_factory=set)


@dataclass(slots=True)
class _Watcher:
    prefix: bytes
    queue: asyncio.Queue[WatchBatch | None]  # None: the store was closed


@dataclass(slots=True)
class _State:
    """Everything a MemoryStore and its read-only views share."""

    clock: Callable[[], float]
    revision: int = 1  # a fresh etcd cluster reports revision 1
    compacted: int = 0
    # Per key, ascending (revision, value or None for a delete): the MVCC history.
    history: dict[bytes, list[tuple[int, KeyValue | None]]] = field(default_factory=dict)
    # Per write revision, its events: what watches replay.
    log: list[tuple[int, tuple[Event, ...]]] = field(default_factory=list)
    leases: dict[int, _Lease] = field(default_factory=dict)
    last_lease_id: int = 0
    watchers: list[_Watcher] = field(default_factory=list)


class MemoryStore:
    """A Store kept in memory. `read_only=True` refuses writes the way etcd refuses a user
    with only the reader role; `reader()` gives such a view onto the same data."""

    def __init__(self, *, read_only: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self._state = _State(clock=clock)
        self._read_only = read_only
        self._watchers: list[_Watcher] = []  # this instance's watches, ended by close()

    def reader(self) -> MemoryStore:
        """A read-only store over this store's data, as a sidecar sees the control plane's."""
        view = MemoryStore(read_only=True, clock=self._state.clock)
        view._state = self._state
        return view

    async def get(self, key: bytes) -> KeyValue | None:
        self._expire_leases()
        return self._value_at(key, self._state.revision)

    async def range(self, prefix: bytes, revision: int = 0, *,
                    min_mod_revision: int = 0) -> tuple[list[KeyValue], int]:
        self._expire_leases()
        state = self._state
        at = revision or state.revision
        if at > state.revision:
            raise ValueError(f"revision {at} is in the future")
        if at < state.compacted:
            raise Compacted(state.compacted)
        end = prefix_end(prefix)
        kvs = []
        for key in sorted(k for k in state.history if in_range(k, prefix, end)):
            kv = self._value_at(key, at)
            if kv is not None and kv.mod_revision >= min_mod_revision:
                kvs.append(kv)
        return kvs, state.revision  # etcd's header revision: the current one, even for a past read

    async def changes(self, prefix: bytes, since: int) -> Changes:
        kvs, current = await self.range(prefix)
        return Changes([kv for kv in kvs if kv.mod_revision > since], len(kvs), current)

    async def txn(self, compares: Sequence[Compare], success: Sequence[Op]) -> TxnResult:
        check_ops(success)
        self._check_writable()
        self._expire_leases()
        state = self._state
        for cmp in compares:
            current = self._value_at(cmp.key, state.revision)
            if (current.mod_revision if current else 0) != cmp.mod_revision:
                return TxnResult(succeeded=False, revision=state.revision)
        for op in success:
            if isinstance(op, Put) and op.lease and op.lease not in state.leases:
                raise LeaseNotFound(f"lease {op.lease:x} not found")
        self._apply(success)
        return TxnResult(succeeded=True, revision=state.revision)

    async def put(self, key: bytes, value: bytes, lease: int = 0) -> int:
        return (await self.txn((), (Put(key, value, lease),))).revision

    async def watch(self, prefix: bytes, start_revision: int) -> AsyncGenerator[WatchBatch, None]:
        self._expire_leases()
        state = self._state
        if 0 < start_revision < state.compacted:
            raise Compacted(state.compacted)
        start = start_revision or state.revision + 1
        # Snapshot the backlog and subscribe with no await in between, so no write falls
        # between history and live events.
        backlog = [entry for entry in state.log if entry[0] >= start]
        watcher = _Watcher(prefix, asyncio.Queue())
        state.watchers.append(watcher)
        self._watchers.append(watcher)
        try:
            for revision, events in backlog:
                batch = _batch_for(prefix, revision, events)
                if batch is not None:
                    yield batch
            while True:
                live = await watcher.queue.get()
                if live is None:
                    return
                yield live
        finally:
            state.watchers.remove(watcher)
            self._watchers.remove(watcher)

    async def grant_lease(self, ttl_seconds: int) -> int:
        self._expire_leases()
        state = self._state
        ttl = max(ttl_seconds, MIN_LEASE_TTL)
        state.last_lease_id += 1
        state.leases[state.last_lease_id] = _Lease(ttl=ttl, expires_at=state.clock() + ttl)
        return state.last_lease_id

    async def keepalive_once(self, lease_id: int) -> int:
        self._expire_leases()
        lease = self._state.leases.get(lease_id)
        if lease is None:
            raise LeaseNotFound(f"lease {lease_id:x} not found")
        lease.expires_at = self._state.clock() + lease.ttl
        return lease.ttl

    async def revoke_lease(self, lease_id: int) -> None:
        self._expire_leases()
        lease = self._state.leases.get(lease_id)
        if lease is None:
            return
        if lease.keys:
            self._check_writable()
        self._end_lease(lease_id)

    async def compact(self, revision: int) -> None:
        self._expire_leases()
        state = self._state
        if revision > state.revision:
            raise ValueError(f"revision {revision} is in the future")
        if revision <= state.compacted:
            return
        state.compacted = revision
        for key in list(state.history):
            versions = state.history[key]
            # Keep the newest version at or before the compaction point unless it is a delete.
            keep_from = max(bisect.bisect_right(versions, revision, key=lambda v: v[0]) - 1, 0)
            kept = versions[keep_from:]
            if kept and kept[0][0] <= revision and kept[0][1] is None:
                kept = kept[1:]
            if kept:
                state.history[key] = kept
            else:
                del state.history[key]
        state.log = [entry for entry in state.log if entry[0] >= revision]

    async def current_revision(self) -> int:
        self._expire_leases()
        return self._state.revision

    async def close(self) -> None:
        for watcher in self._watchers:
            watcher.queue.put_nowait(None)

    def _value_at(self, key: bytes, revision: int) -> KeyValue | None:
        versions = self._state.history.get(key, [])
        index = bisect.bisect_right(versions, revision, key=lambda v: v[0]) - 1
        return versions[index][1] if index >= 0 else None

    def _check_writable(self) -> None:
        if self._read_only:
            raise StorePermissionDenied("read-only store refuses writes")

    def _apply(self, ops: Sequence[Op]) -> None:
        """Apply ops as one revision; a transaction that changes nothing makes none."""
        state = self._state
        revision = state.revision + 1
        events: list[Event] = []
        for op in ops:
            if isinstance(op, Put):
                events.append(self._put_at(op, revision))
            else:
                keys = [op.key] if isinstance(op, Delete) else self._live_keys(op.prefix)
                events.extend(self._delete_at(key, revision) for key in keys if self._live(key))
        if not events:
            return
        state.revision = revision
        state.log.append((revision, tuple(events)))
        for watcher in state.watchers:
            batch = _batch_for(watcher.prefix, revision, state.log[-1][1])
            if batch is not None:
                watcher.queue.put_nowait(batch)

    def _put_at(self, op: Put, revision: int) -> Event:
        state = self._state
        previous = self._value_at(op.key, revision)
        if previous is not None and previous.lease and previous.lease in state.leases:
            state.leases[previous.lease].keys.discard(op.key)
        kv = KeyValue(
            key=op.key,
            value=op.value,
            create_revision=previous.create_revision if previous else revision,
            mod_revision=revision,
            version=previous.version + 1 if previous else 1,
            lease=op.lease,
        )
        if op.lease:
            state.leases[op.lease].keys.add(op.key)
        state.history.setdefault(op.key, []).append((revision, kv))
        return Event("put", kv)

    def _delete_at(self, key: bytes, revision: int) -> Event:
        state = self._state
        previous = self._value_at(key, revision)
        assert previous is not None
        if previous.lease in state.leases:
            state.leases[previous.lease].keys.discard(key)
        state.history[key].append((revision, None))
        return Event("delete", KeyValue(key, b"", 0, revision, 0, 0))

    def _live(self, key: bytes) -> bool:
        return self._value_at(key, self._state.revision + 1) is not None

    def _live_keys(self, prefix: bytes) -> list[bytes]:
        end = prefix_end(prefix)
        return sorted(k for k in self._state.history if in_range(k, prefix, end) and self._live(k))

    def _end_lease(self, lease_id: int) -> None:
        lease = self._state.leases.pop(lease_id)
        self._apply([Delete(key) for key in sorted(lease.keys)])

    def _expire_leases(self) -> None:
        """Leases are checked lazily: every call first ends the leases whose time is up."""
        now = self._state.clock()
        for lease_id, lease in sorted(self._state.leases.items()):
            if lease.expires_at <= now:
                self._end_lease(lease_id)


def _batch_for(prefix: bytes, revision: int, events: tuple[Event, ...]) -> WatchBatch | None:
    end = prefix_end(prefix)
    matching = tuple(e for e in events if in_range(e.kv.key, prefix, end))
    return WatchBatch(revision=revision, events=matching) if matching else None
