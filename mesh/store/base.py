"""The Store interface: the plain values and the async protocol every etcd access in
Tsunagi goes through (EtcdStore for real, MemoryStore as the fake)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One key at one revision, as etcd reports it. `version` counts puts since the key was
    (re)created; `lease` is 0 when the key is not attached to a lease."""

    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0


@dataclass(frozen=True, slots=True)
class Event:
    """A change seen by a watch. For a delete, `kv` has the key, an empty value and the
    revision of the delete as mod_revision."""

    type: Literal["put", "delete"]
    kv: KeyValue


@dataclass(frozen=True, slots=True)
class WatchBatch:
    """Events in revision order; `revision` is the mod_revision of the last one, so a watch
    resumed from revision + 1 neither skips nor repeats an event."""

    revision: int
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class TxnResult:
    """Whether every compare held (and the ops were applied), and the store revision after."""

    succeeded: bool
    revision: int


@dataclass(frozen=True, slots=True)
class Changes:
    """Store.changes: the keys under a prefix modified after a revision (sorted by key), how
    many keys the prefix holds, and the store revision both were read at."""

    kvs: list[KeyValue]
    count: int
    revision: int


@dataclass(frozen=True, slots=True)
class Compare:
    """Holds when the key's mod_revision equals `mod_revision`; 0 means "the key is absent"."""

    key: bytes
    mod_revision: int


@dataclass(frozen=True, slots=True)
class Put:
    """Write `value` at `key`, attached to `lease` unless it is 0."""

    key: bytes
    value: bytes
    lease: int = 0


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete one key (nothing happens if it is absent)."""

    key: bytes


@dataclass(frozen=True, slots=True)
class DeletePrefix:
    """Delete every key starting with `prefix`."""

    prefix: bytes


Op: TypeAlias = Put | Delete | DeletePrefix


class Store(Protocol):
    """Async access to an etcd-shaped key space. Every call but `watch` has a deadline."""

    async def get(self, key: bytes) -> KeyValue | None:
        """The key's current value, or None."""
        ...

    async def range(self, prefix: bytes, revision: int = 0, *,
                    min_mod_revision: int = 0) -> tuple[list[KeyValue], int]:
        """Every key under `prefix` sorted by key, and the store's current revision (etcd's
        header revision; list-then-watch resumes from it + 1). revision > 0 reads the keys
        as they were then; Compacted if that revision was compacted away. min_mod_revision > 0
        leaves out keys last modified before it (what changed since a read; deletions do not
        show: compare `count`)."""
        ...

    async def changes(self, prefix: bytes, since: int) -> Changes:
        """What changed under `prefix` after revision `since`, in one read at one revision:
        the keys modified since (as range with min_mod_revision=since + 1) and how many keys
        the prefix holds now (which shows deletions)."""
        ...

    async def txn(self, compares: Sequence[Compare], success: Sequence[Op]) -> TxnResult:
        """Apply `success` atomically if every compare holds; otherwise write nothing."""
        ...

    async def put(self, key: bytes, value: bytes, lease: int = 0) -> int:
        """Write one key; returns the revision of the write."""
        ...

    def watch(self, prefix: bytes, start_revision: int) -> AsyncGenerator[WatchBatch, None]:
        """Batches for every change under `prefix` from `start_revision` on (0: from now).

        Raises Compacted if start_revision is compacted, StoreUnavailable when the stream
        breaks (resume from the last batch's revision + 1). Ends cleanly on aclose()."""
        ...

    async def grant_lease(self, ttl_seconds: int) -> int:
        """A new lease id; the lease expires `ttl_seconds` (or the store's minimum) from now."""
        ...

    async def keepalive_once(self, lease_id: int) -> int:
        """Refresh the lease; returns its TTL in seconds. LeaseNotFound if it is gone."""
        ...

    async def revoke_lease(self, lease_id: int) -> None:
        """End the lease now, deleting its keys. Revoking a lease that is gone is a no-op."""
        ...

    async def compact(self, revision: int) -> None:
        """Forget history before `revision`. Compacting at or below a past compaction is a
        no-op; a revision beyond the current one is a ValueError."""
        ...

    async def current_revision(self) -> int:
        """The store's current revision."""
        ...

    async def close(self) -> None:
        """Release connections; open watches end."""
        ...
