"""The Store contract: one class of tests that every Store must pass, run against
MemoryStore (tests/unit/store) and EtcdStore on a real etcd (tests/integration/store).

A module subclasses StoreContract and provides the fixtures:
  store  - a writer store whose key space under `prefix` is empty at the start;
  reader - a read-only store onto the same data (etcd: a user with the reader role);
  prefix - the key prefix the test may use;
  elapse - an async callable(seconds) that lets that much store time pass (a fake clock
           advances; real etcd needs nothing, the bounded waits cover real time).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from mesh.store.base import Compare, Delete, DeletePrefix, Event, Op, Put, Store, WatchBatch
from mesh.store.errors import Compacted, LeaseNotFound, StorePermissionDenied
from tests.support.wait import async_wait_until

Elapse = Callable[[float], Awaitable[None]]
WATCH_TIMEOUT = 10.0


async def take_events(batches: AsyncIterator[WatchBatch], count: int, timeout: float = WATCH_TIMEOUT) -> list[Event]:
    """Whole batches from a watch, flattened, until at least `count` events; fails after
    `timeout`. A store may put several revisions in one batch, so more may come back."""
    events: list[Event] = []
    async with asyncio.timeout(timeout):
        while len(events) < count:
            batch = await anext(batches)
            assert batch.events, "a watch batch is never empty"
            assert batch.revision == batch.events[-1].kv.mod_revision
            events.extend(batch.events)
    return events


def summary(events: list[Event]) -> list[tuple[str, bytes, bytes]]:
    return [(e.type, e.kv.key, e.kv.value) for e in events]


class StoreContract:
    """Behaviour both stores must share. Revisions are compared relative to each other:
    a real etcd carries revisions over from earlier tests."""

    # --- get / put / range -------------------------------------------------------------

    async def test_get_of_an_absent_key_returns_none(self, store: Store, prefix: bytes) -> None:
        """A key never written reads as None."""
        assert await store.get(prefix + b"absent") is None

    async def test_put_returns_the_revision_it_wrote(self, store: Store, prefix: bytes) -> None:
        """put returns the new current revision, one past the previous one."""
        before = await store.current_revision()
        revision = await store.put(prefix + b"a", b"1")
        assert revision == before + 1
        assert await store.current_revision() == revision

    async def test_first_put_sets_create_and_mod_revision_and_version_one(self, store: Store, prefix: bytes) -> None:
        """A new key has create_revision == mod_revision == the put's revision, version 1."""
        revision = await store.put(prefix + b"a", b"1")
        kv = await store.get(prefix + b"a")
        assert kv is not None
        assert (kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease) == (
            prefix + b"a", b"1", revision, revision, 1, 0,
        )

    async def test_second_put_keeps_create_revision_and_bumps_version(self, store: Store, prefix: bytes) -> None:
        """Overwriting moves mod_revision and version but not create_revision."""
        first = await store.put(prefix + b"a", b"1")
        second = await store.put(prefix + b"a", b"2")
        kv = await store.get(prefix + b"a")
        assert kv is not None
        assert (kv.value, kv.create_revision, kv.mod_revision, kv.version) == (b"2", first, second, 2)

    async def test_key_recreated_after_delete_starts_at_version_one(self, store: Store, prefix: bytes) -> None:
        """Delete then put gives a fresh create_revision and version 1."""
        await store.put(prefix + b"a", b"1")
        await store.txn((), (Delete(prefix + b"a"),))
        revision = await store.put(prefix + b"a", b"2")
        kv = await store.get(prefix + b"a")
        assert kv is not None
        assert (kv.create_revision, kv.version) == (revision, 1)

    async def test_range_returns_only_keys_under_the_prefix_sorted_by_key(self, store: Store, prefix: bytes) -> None:
        """range(prefix) is byte-prefix matching, sorted by key, whatever the write order."""
        for key in (b"dir/c", b"dir/a", b"dir0", b"dir", b"dir/b/x", b"di"):
            await store.put(prefix + key, key)
        kvs, _ = await store.range(prefix + b"dir/")
        assert [kv.key for kv in kvs] == [prefix + b"dir/a", prefix + b"dir/b/x", prefix + b"dir/c"]

    async def test_range_of_an_empty_prefix_returns_no_keys(self, store: Store, prefix: bytes) -> None:
        """A prefix with no keys gives an empty list, not an error."""
        assert (await store.range(prefix + b"nothing/"))[0] == []

    async def test_range_reports_the_current_revision(self, store: Store, prefix: bytes) -> None:
        """The revision returned with a range is the store's revision at the read."""
        revision = await store.put(prefix + b"a", b"1")
        _, read_at = await store.range(prefix)
        assert read_at == revision

    async def test_range_at_a_past_revision_reads_the_past(self, store: Store, prefix: bytes) -> None:
        """range(revision=r) shows the keys as they were at r, including since-deleted ones."""
        await store.put(prefix + b"a", b"old")
        past = await store.put(prefix + b"b", b"gone-later")
        await store.put(prefix + b"a", b"new")
        await store.txn((), (Delete(prefix + b"b"),))
        kvs, read_at = await store.range(prefix, revision=past)
        assert [(kv.key, kv.value) for kv in kvs] == [(prefix + b"a", b"old"), (prefix + b"b", b"gone-later")]
        assert read_at == await store.current_revision()  # the header revision, not `past`

    async def test_range_since_a_revision_returns_only_what_changed(self, store: Store, prefix: bytes) -> None:
        """min_mod_revision leaves out keys untouched since; a deleted key shows only in count."""
        await store.put(prefix + b"a", b"1")
        await store.put(prefix + b"b", b"1")
        await store.put(prefix + b"c", b"1")
        since = await store.current_revision()
        await store.put(prefix + b"b", b"2")
        await store.put(prefix + b"d", b"1")
        await store.txn((), (Delete(prefix + b"c"),))
        kvs, read_at = await store.range(prefix, min_mod_revision=since + 1)
        assert [(kv.key, kv.value) for kv in kvs] == [(prefix + b"b", b"2"), (prefix + b"d", b"1")]
        assert read_at == await store.current_revision()
        changes = await store.changes(prefix, since)
        assert [(kv.key, kv.value, kv.mod_revision) for kv in changes.kvs] == [
            (kv.key, kv.value, kv.mod_revision) for kv in kvs]
        assert (changes.count, changes.revision) == (3, read_at)  # a, b, d: c's delete shows here
        nothing = await store.changes(prefix, read_at)
        assert (nothing.kvs, nothing.count, nothing.revision) == ([], 3, read_at)
        assert (await store.changes(prefix + b"nothing/", 0)).count == 0

    async def test_range_at_a_future_revision_is_refused(self, store: Store, prefix: bytes) -> None:
        """A revision beyond the current one is a caller error."""
        current = await store.current_revision()
        with pytest.raises(ValueError):
            await store.range(prefix, revision=current + 1000)

    # --- transactions ------------------------------------------------------------------

    async def test_txn_applies_every_op_in_one_revision(self, store: Store, prefix: bytes) -> None:
        """A successful txn writes all its ops at the same single new revision."""
        await store.put(prefix + b"old", b"x")
        before = await store.current_revision()
        ops = (Put(prefix + b"a", b"1"), Put(prefix + b"b", b"2"), Delete(prefix + b"old"))
        result = await store.txn((Compare(prefix + b"a", 0),), ops)
        assert result.succeeded and result.revision == before + 1
        kvs, _ = await store.range(prefix)
        assert [(kv.key, kv.mod_revision) for kv in kvs] == [(prefix + b"a", before + 1), (prefix + b"b", before + 1)]

    async def test_txn_with_a_failed_compare_writes_nothing(self, store: Store, prefix: bytes) -> None:
        """When one compare fails no op is applied and the revision does not move."""
        await store.put(prefix + b"guard", b"x")
        before = await store.current_revision()
        ops = (Put(prefix + b"a", b"1"), DeletePrefix(prefix + b"guard"))
        result = await store.txn((Compare(prefix + b"a", 0), Compare(prefix + b"guard", 0)), ops)
        assert (result.succeeded, result.revision) == (False, before)
        assert await store.get(prefix + b"a") is None
        assert await store.get(prefix + b"guard") is not None
        assert await store.current_revision() == before

    async def test_txn_compare_with_a_stale_mod_revision_fails(self, store: Store, prefix: bytes) -> None:
        """Optimistic concurrency: a compare on an overwritten mod_revision does not hold."""
        stale = await store.put(prefix + b"a", b"1")
        await store.put(prefix + b"a", b"2")
        result = await store.txn((Compare(prefix + b"a", stale),), (Put(prefix + b"a", b"3"),))
        assert not result.succeeded
        kv = await store.get(prefix + b"a")
        assert kv is not None and kv.value == b"2"

    async def test_txn_compare_with_the_current_mod_revision_holds(self, store: Store, prefix: bytes) -> None:
        """A compare on the key's current mod_revision lets the txn through."""
        current = await store.put(prefix + b"a", b"1")
        result = await store.txn((Compare(prefix + b"a", current),), (Put(prefix + b"a", b"2"),))
        assert result.succeeded

    async def test_compare_with_zero_creates_a_key_only_once(self, store: Store, prefix: bytes) -> None:
        """mod_revision 0 means "absent": create-if-absent succeeds once, then fails."""
        first = await store.txn((Compare(prefix + b"a", 0),), (Put(prefix + b"a", b"1"),))
        second = await store.txn((Compare(prefix + b"a", 0),), (Put(prefix + b"a", b"2"),))
        assert (first.succeeded, second.succeeded) == (True, False)

    async def test_delete_prefix_removes_only_keys_under_the_prefix(self, store: Store, prefix: bytes) -> None:
        """DeletePrefix(p) removes p and p/..., keeps siblings that merely share letters."""
        for key in (b"app/1", b"app/2", b"app", b"apple"):
            await store.put(prefix + key, b"v")
        await store.txn((), (DeletePrefix(prefix + b"app/"),))
        kvs, _ = await store.range(prefix)
        assert [kv.key for kv in kvs] == [prefix + b"app", prefix + b"apple"]

    async def test_deleting_absent_keys_makes_no_revision(self, store: Store, prefix: bytes) -> None:
        """A txn that changes nothing leaves the revision where it was."""
        before = await store.current_revision()
        result = await store.txn((), (Delete(prefix + b"none"), DeletePrefix(prefix + b"nothing/")))
        assert (result.succeeded, result.revision) == (True, before)

    @pytest.mark.parametrize(
        "ops",
        [
            pytest.param(lambda p: (Put(p + b"k", b"1"), Put(p + b"k", b"2")), id="same-key-twice"),
            pytest.param(lambda p: (Put(p + b"k", b"1"), Delete(p + b"k")), id="put-and-delete"),
            pytest.param(lambda p: (DeletePrefix(p), Put(p + b"k/x", b"1")), id="put-inside-deleted-prefix"),
        ],
    )
    async def test_txn_refuses_overlapping_ops(
        self, store: Store, prefix: bytes, ops: Callable[[bytes], tuple[Op, ...]]
    ) -> None:
        """Ops that etcd cannot order within one revision are refused; nothing is written."""
        before = await store.current_revision()
        with pytest.raises(ValueError):
            await store.txn((), ops(prefix))
        assert await store.current_revision() == before

    # --- watch -------------------------------------------------------------------------

    async def test_watch_from_a_past_revision_delivers_history_then_live_events(
        self, store: Store, prefix: bytes
    ) -> None:
        """History from start_revision comes first, then live writes, all in revision order."""
        start = await store.put(prefix + b"a", b"1")
        await store.put(prefix + b"b", b"2")
        await store.txn((), (Delete(prefix + b"a"),))
        watch = store.watch(prefix, start)
        try:
            history = await take_events(watch, 3)
            await store.put(prefix + b"c", b"3")
            live = await take_events(watch, 1)
        finally:
            await watch.aclose()
        assert summary(history + live) == [
            ("put", prefix + b"a", b"1"),
            ("put", prefix + b"b", b"2"),
            ("delete", prefix + b"a", b""),
            ("put", prefix + b"c", b"3"),
        ]
        revisions = [e.kv.mod_revision for e in history + live]
        assert revisions == sorted(revisions) and len(set(revisions)) == 4

    async def test_watch_reports_a_delete_at_its_own_revision(self, store: Store, prefix: bytes) -> None:
        """A delete event carries the key and the deleting revision as mod_revision."""
        await store.put(prefix + b"a", b"1")
        deleted = (await store.txn((), (Delete(prefix + b"a"),))).revision
        watch = store.watch(prefix, deleted)
        try:
            (event,) = await take_events(watch, 1)
        finally:
            await watch.aclose()
        assert (event.type, event.kv.key, event.kv.mod_revision) == ("delete", prefix + b"a", deleted)

    async def test_watch_ignores_keys_outside_its_prefix(self, store: Store, prefix: bytes) -> None:
        """Writes next to the watched prefix are not delivered."""
        start = await store.current_revision() + 1
        await store.put(prefix + b"other", b"x")
        await store.put(prefix + b"watched/a", b"1")
        watch = store.watch(prefix + b"watched/", start)
        try:
            events = await take_events(watch, 1)
        finally:
            await watch.aclose()
        assert summary(events) == [("put", prefix + b"watched/a", b"1")]

    async def test_watch_resumed_from_last_revision_plus_one_has_no_gap_or_duplicate(
        self, store: Store, prefix: bytes
    ) -> None:
        """Stop a watch, write more, resume from batch.revision + 1: each event exactly once."""
        start = await store.current_revision() + 1
        for i in range(3):
            await store.put(prefix + b"k%d" % i, b"v")
        first = store.watch(prefix, start)
        seen = await take_events(first, 1)
        await first.aclose()
        for i in range(3, 5):
            await store.put(prefix + b"k%d" % i, b"v")
        second = store.watch(prefix, seen[-1].kv.mod_revision + 1)
        try:
            seen += await take_events(second, 5 - len(seen))
        finally:
            await second.aclose()
        assert [e.kv.key for e in seen] == [prefix + b"k%d" % i for i in range(5)]

    async def test_watch_closes_cleanly_between_batches(self, store: Store, prefix: bytes) -> None:
        """aclose() after a batch returns without raising, and the store stays usable."""
        watch = store.watch(prefix, await store.put(prefix + b"a", b"1"))
        await take_events(watch, 1)
        await watch.aclose()
        assert await store.get(prefix + b"a") is not None

    async def test_cancelling_a_waiting_watch_propagates_cancellation(self, store: Store, prefix: bytes) -> None:
        """A consumer task cancelled while it waits ends with CancelledError, never swallowed."""
        watch = store.watch(prefix, await store.current_revision() + 1)
        waiting = asyncio.ensure_future(anext(watch))
        await asyncio.sleep(0)  # let it start waiting; cancelling before that must also hold
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await watch.aclose()

    async def test_watch_from_a_compacted_revision_raises_compacted(self, store: Store, prefix: bytes) -> None:
        """Compacted carries the compaction point, the oldest revision one can watch from."""
        old = await store.put(prefix + b"a", b"1")
        point = await store.put(prefix + b"a", b"2")
        await store.compact(point)
        watch = store.watch(prefix, old)
        with pytest.raises(Compacted) as raised:
            await asyncio.wait_for(anext(watch), WATCH_TIMEOUT)
        assert raised.value.compact_revision == point

    async def test_watch_from_the_compaction_point_still_works(self, store: Store, prefix: bytes) -> None:
        """The compaction point itself is still readable and watchable."""
        point = await store.put(prefix + b"a", b"1")
        await store.compact(point)
        watch = store.watch(prefix, point)
        try:
            assert summary(await take_events(watch, 1)) == [("put", prefix + b"a", b"1")]
        finally:
            await watch.aclose()

    # --- compaction --------------------------------------------------------------------

    async def test_range_at_a_compacted_revision_raises_compacted(self, store: Store, prefix: bytes) -> None:
        """Reading below the compaction point fails with the point; current values remain."""
        old = await store.put(prefix + b"a", b"1")
        point = await store.put(prefix + b"a", b"2")
        await store.compact(point)
        with pytest.raises(Compacted) as raised:
            await store.range(prefix, revision=old)
        assert raised.value.compact_revision == point
        kv = await store.get(prefix + b"a")
        assert kv is not None and kv.value == b"2"

    async def test_compacting_again_below_the_last_compaction_is_a_no_op(self, store: Store, prefix: bytes) -> None:
        """compact is idempotent: an older or equal revision does nothing."""
        old = await store.put(prefix + b"a", b"1")
        point = await store.put(prefix + b"a", b"2")
        await store.compact(point)
        await store.compact(point)
        await store.compact(old)

    async def test_compacting_a_future_revision_is_refused(self, store: Store) -> None:
        """A compaction point beyond the current revision is a caller error."""
        with pytest.raises(ValueError):
            await store.compact(await store.current_revision() + 1000)

    # --- leases ------------------------------------------------------------------------

    async def test_lease_expiry_deletes_its_keys(self, store: Store, prefix: bytes, elapse: Elapse) -> None:
        """Without keepalives a lease's keys disappear once its TTL has passed."""
        lease = await store.grant_lease(1)
        await store.put(prefix + b"alive", b"1", lease=lease)
        kv = await store.get(prefix + b"alive")
        assert kv is not None and kv.lease == lease
        await elapse(5)
        await async_wait_until(
            lambda: _absent(store, prefix + b"alive"), timeout=10, what="the leased key to expire"
        )
        with pytest.raises(LeaseNotFound):
            await store.keepalive_once(lease)

    async def test_keepalive_returns_the_lease_ttl(self, store: Store) -> None:
        """keepalive_once on a live lease answers its (possibly store-raised) TTL."""
        lease = await store.grant_lease(30)
        assert await store.keepalive_once(lease) == 30

    async def test_revoke_deletes_the_lease_keys_at_once(self, store: Store, prefix: bytes) -> None:
        """Revoking a lease deletes every key on it in one revision."""
        lease = await store.grant_lease(30)
        await store.put(prefix + b"a", b"1", lease=lease)
        await store.put(prefix + b"b", b"1", lease=lease)
        before = await store.current_revision()
        await store.revoke_lease(lease)
        assert (await store.range(prefix))[0] == []
        assert await store.current_revision() == before + 1

    async def test_revoking_an_unknown_lease_is_a_no_op(self, store: Store) -> None:
        """revoke_lease is idempotent."""
        lease = await store.grant_lease(30)
        await store.revoke_lease(lease)
        await store.revoke_lease(lease)

    async def test_put_on_an_unknown_lease_raises_lease_not_found(self, store: Store, prefix: bytes) -> None:
        """A key cannot be attached to a lease that does not exist; nothing is written."""
        lease = await store.grant_lease(30)
        await store.revoke_lease(lease)
        with pytest.raises(LeaseNotFound):
            await store.put(prefix + b"a", b"1", lease=lease)
        assert await store.get(prefix + b"a") is None

    # --- read-only role ----------------------------------------------------------------

    @pytest.mark.parametrize(
        "write",
        [
            pytest.param(lambda s, p: s.put(p + b"a", b"x"), id="put"),
            pytest.param(lambda s, p: s.txn((), (Put(p + b"a", b"x"),)), id="txn-put"),
            pytest.param(lambda s, p: s.txn((), (Delete(p + b"seed"),)), id="txn-delete"),
            pytest.param(lambda s, p: s.txn((), (DeletePrefix(p),)), id="txn-delete-prefix"),
        ],
    )
    async def test_reader_cannot_write(
        self, store: Store, reader: Store, prefix: bytes, write: Callable[[Store, bytes], Awaitable[object]]
    ) -> None:
        """Every write by a read-only user is refused and changes nothing."""
        await store.put(prefix + b"seed", b"s")
        before = await store.current_revision()
        with pytest.raises(StorePermissionDenied):
            await write(reader, prefix)
        assert await store.current_revision() == before
        assert await store.get(prefix + b"a") is None

    async def test_reader_can_range_and_watch(self, store: Store, reader: Store, prefix: bytes) -> None:
        """The reader role sees the writer's data and its changes."""
        start = await store.put(prefix + b"a", b"1")
        kvs, _ = await reader.range(prefix)
        assert [kv.value for kv in kvs] == [b"1"]
        watch = reader.watch(prefix, start)
        try:
            assert summary(await take_events(watch, 1)) == [("put", prefix + b"a", b"1")]
        finally:
            await watch.aclose()


async def _absent(store: Store, key: bytes) -> bool:
    return await store.get(key) is None
